/** Types of build.mjs (plain JS: it runs with node alone, before any TypeScript tooling). */
export function assembleFillModule(): Promise<Buffer>;
export function fillModuleSource(bytes: Buffer): string;
