/**
 * The C ABI host addon (native/build/Release/moe_abi_host.node, source native/abi/host) and
 * the libraries this repository builds behind the ABI. Only harness/kernels/lib.ts loads
 * the host, and only inside the campaign's child process: a kernel library runs in the
 * process that loaded it, and one that crashes or poisons its device must not take the
 * campaign down.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** dtype names of moe_kernel_abi.h's MoeDtype, as the host takes them. */
export type AbiDtype = 'none' | 'f32' | 'bf16' | 'i32' | 'e2m1x2' | 'e4m3' | 'ue8m0';

export interface AbiTensor {
  readonly dtype: AbiDtype;
  readonly shape: readonly number[];
  /** The bytes, or a weight tensor's per-expert chunks in order (the host joins them). */
  readonly data: ArrayBufferView | readonly ArrayBufferView[];
}

export interface AbiProblem {
  T: number; H: number; I: number; E: number; topK: number; localOffset: number; localExperts: number;
  routingMethod: string; nGroup: number; topkGroup: number; routedScalingFactor: number;
  quantMode: string; logitsDtype: AbiDtype; biasDtype: AbiDtype; activation: string;
}

export interface AbiCase {
  problem: AbiProblem;
  logits: AbiTensor; bias: AbiTensor | null; hidden: AbiTensor; hiddenScales: AbiTensor | null;
  fc1Weights: AbiTensor; fc1Scales: AbiTensor; fc2Weights: AbiTensor; fc2Scales: AbiTensor;
  out1Scale: AbiTensor; out1GateScale: AbiTensor; out2Scale: AbiTensor;
  swigluAlpha: AbiTensor | null; swigluBeta: AbiTensor | null; swigluLimit: AbiTensor | null;
}

export interface AbiLibrary { readonly abiMajor: number; readonly abiMinor: number; readonly hostAbi: string; readonly path: string }
export interface AbiDescription {
  readonly name: string; readonly buildId: string; readonly device: string;
  readonly quantModes: string[]; readonly routingMethods: string[];
  readonly conventions: Array<{ point: string; value: string }>;
}
export interface AbiTacticEntry { tileTokens: number; config: number; ok: boolean; reason: string; workspaceBytes?: number }
export interface AbiRunResult {
  output: Uint16Array; ids: Int32Array; weights: Float32Array;
  executed: { tileTokens: number; config: number };
  ms: number;
}

/** The functions of moe_abi_host.node (native/abi/host/abi_host.cc). */
export interface AbiHost {
  readonly abiVersion: string;
  open(path: string): AbiLibrary;
  describe(lib: AbiLibrary): AbiDescription;
  tactics(lib: AbiLibrary, problem: AbiProblem): AbiTacticEntry[];
  prepare(lib: AbiLibrary, c: AbiCase): object;
  run(handle: object, options: { tileTokens: number; config: number; poison: number }): AbiRunResult;
  digest(handle: object): string;
  release(handle: object): void;
}

const here = path.dirname(fileURLToPath(import.meta.url));

/** native/build/Release, from the sources (tsx) or from dist/harness/kernels. */
export function nativeReleaseDir(): string {
  const candidates = [
    path.join(here, '..', '..', 'native', 'build', 'Release'),
    path.join(here, '..', '..', '..', 'native', 'build', 'Release'),
  ];
  return candidates.find((d) => existsSync(path.join(d, 'moe_abi_host.node'))) ?? candidates[0]!;
}

/** The libraries this repository builds behind the ABI. */
const ABI_LIBRARIES = {
  /** CPU MoE with misbehaving modes (MOE_ABI_TESTLIB_MODE): native/abi/testlib. */
  cpu: 'libmoe_abi_cpu.so',
  /** Our CUDA engine behind the ABI: native/abi/native. */
  native: 'libmoe_abi_native.so',
  /** The same over the engine's faults build (node native/build.mjs --faults); MOE_ABI_NATIVE_FAULT=<code>. */
  nativeFaults: 'libmoe_abi_native_faults.so',
  /** The minimal example of docs/c-abi.md (plain C, mxfp4_bf16 + renormalize): native/abi/example. */
  example: 'libmoe_abi_example.so',
} as const;
export type AbiLibraryName = keyof typeof ABI_LIBRARIES;

/** Absolute path of one of our ABI libraries (it may not exist: check with existsSync). */
export function abiLibraryPath(name: AbiLibraryName): string {
  return path.join(nativeReleaseDir(), ABI_LIBRARIES[name]);
}

export type HostLoad = { ok: true; host: AbiHost; path: string } | { ok: false; reason: string };
let cached: HostLoad | null = null;

/** Load the host addon (once). Never call this in the campaign's main process. */
export function loadAbiHost(): HostLoad {
  if (cached) return cached;
  const file = path.join(nativeReleaseDir(), 'moe_abi_host.node');
  if (!existsSync(file)) {
    cached = { ok: false, reason: `${file} not found; build it with node native/build.mjs (it builds moe_abi_host with moe_native)` };
  } else {
    try {
      cached = { ok: true, host: createRequire(import.meta.url)(file) as AbiHost, path: file };
    } catch (e) {
      cached = { ok: false, reason: `loading ${file} failed: ${e instanceof Error ? e.message : String(e)}` };
    }
  }
  return cached;
}
