/**
 * Public API of the iso-root domain for the other domains: the expected content of the ISO
 * root (the union of the declared targets under it), with which the ISO tasks find strays.
 * Other domains import the iso-root domain only through this file (.dependency-cruiser.cjs).
 */
export { expectedTree, findStrays, isCovered, type ExpectedTree } from './expected.ts';
