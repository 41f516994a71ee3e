// Assembles fill.wat (WebAssembly text) into fillModule.ts, its bytes as base64, with wabt (a
// devDependency: the bytes are committed, so neither the tests nor a user's run need wabt).
// `node reference/generate/wasm/build.mjs [--check]`: --check exits 1 when fillModule.ts is
// not what fill.wat assembles to (wasmFill.test.ts checks the same).
import { wasmModuleBuild } from '../../fastpath/wasm/build.mjs';

const build = wasmModuleBuild(new URL('.', import.meta.url), {
  wat: 'fill.wat', target: 'fillModule.ts', exportName: 'FILL_WASM_BASE64', features: {}, script: 'reference/generate/wasm/build.mjs',
});

/** The fill module's bytes. */
export const assembleFillModule = build.assemble;
/** The text of fillModule.ts for these bytes. */
export const fillModuleSource = build.source;

if (process.argv[1] !== undefined && new URL(import.meta.url).pathname === process.argv[1]) await build.main();
