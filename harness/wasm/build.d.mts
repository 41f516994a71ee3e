/** Types of build.mjs (plain JS: it runs with node alone, before any TypeScript tooling). */
export function assembleScanModule(): Promise<Buffer>;
export function scanModuleSource(bytes: Buffer): string;
