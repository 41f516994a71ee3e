/** Types of buildCache.mjs (plain JS so that build.mjs runs before any TypeScript tooling). */
export function readCMakeCache(text: string): Map<string, string>;
export function staleCacheReason(buildDir: string, sourceDir: string): string | null;
