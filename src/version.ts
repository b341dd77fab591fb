import pkg from '../package.json' with { type: 'json' };

/** The package version (reported at enrollment and in health checks). A JSON import, so it works from sources and from dist/ alike. */
export const PACKAGE_VERSION: string = pkg.version;
