/**
 * Public API of the images domain for the other domains: local image builds into the shared
 * blob store (Solutions build their images with them). Other domains import the images domain
 * only through this file (.dependency-cruiser.cjs).
 */
export { adoptDirLayout, buildLocalImage, type BuildLocalImageOptions } from './build.ts';
export { registryIncludeFiles } from './paths.ts';
export { builderEnv } from './builder-env.ts';
export { builderSettingsKey, type BuilderSettingsKey } from './builder-settings.ts';
export { checkAuthFile } from './registry-auth.ts';
