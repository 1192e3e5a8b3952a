/**
 * Public API of the salt domain for the other domains: the shipped Salt file list
 * (`salt/MANIFEST`), which lint checks against the tree. Other domains import the salt domain
 * only through this file (.dependency-cruiser.cjs).
 */
export { listSaltDir, parseSaltManifest, SALT_MANIFEST, type SaltFile } from './manifest.ts';
