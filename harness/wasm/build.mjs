// Assembles scan.wat (WebAssembly text) into scanModule.ts, its bytes as base64, with wabt (a
// devDependency: the bytes are committed, so neither the tests nor a user's run need wabt).
// `node harness/wasm/build.mjs [--check]`: --check exits 1 when scanModule.ts is not what
// scan.wat assembles to (wasmScan.test.ts checks the same).
import { wasmModuleBuild } from '../../reference/fastpath/wasm/build.mjs';

const build = wasmModuleBuild(new URL('.', import.meta.url), {
  wat: 'scan.wat', target: 'scanModule.ts', exportName: 'SCAN_WASM_BASE64', features: {}, script: 'harness/wasm/build.mjs',
});

/** The scan module's bytes. */
export const assembleScanModule = build.assemble;
/** The text of scanModule.ts for these bytes. */
export const scanModuleSource = build.source;

if (process.argv[1] !== undefined && new URL(import.meta.url).pathname === process.argv[1]) await build.main();
