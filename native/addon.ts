/**
 * Loading the compiled addon (native/build/Release/*.node) and the shape of its raw
 * binding. Only native/index.ts uses this file; everything else goes through index.ts.
 *
 * Two variants: 'release' (moe_native.node, built by npm ci) and 'faults'
 * (moe_native_faults.node, built on demand by `node native/build.mjs --faults`).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type AddonVariant = 'release' | 'faults';
const ADDON_FILES: Readonly<Record<AddonVariant, string>> = {
  release: 'moe_native.node',
  faults: 'moe_native_faults.node',
};

/** Problem fields as the binding takes them: integers, enums as our own numbers. */
export interface RawProblem {
  T: number; H: number; I: number; E: number; topK: number; localOffset: number; localExperts: number;
  routingMethod: number; nGroup: number; topkGroup: number; routedScalingFactor: number;
  logitsDtype: number; biasDtype: number; quantMode: number; activation: number;
}

export interface RawCase {
  problem: RawProblem;
  logits: unknown; bias: unknown; hidden: unknown; hiddenScales: unknown;
  fc1Packed: unknown; fc1Scales: unknown; fc2Packed: unknown; fc2Scales: unknown;
  out1Scale: unknown; out1GateScale: unknown; out2Scale: unknown;
  swigluAlpha: unknown; swigluBeta: unknown; swigluLimit: unknown;
}

export interface RawTactic { tileTokens: number; config: number }

export interface RawConfigInfo {
  config: number; name: string; description: string; weightRows: number; warps: number; stages: number; splitKFc2: boolean;
}

export interface RawDeviceMemoryEstimate {
  peak: number; inputs: number; weights: number; staging: number; scratch: number; splitK: number; output: number; slack: number;
  items: { name: string; bytes: number }[];
}

/** Config 3's split over K (binding.cc StreamSplit): slices 0 = unsplit; CTAs of the unsplit grids. */
export interface RawStreamSplit {
  fc1Slices: number; fc2Slices: number; fc1Ctas: number; fc2Ctas: number; fc1Chunks: number; fc2Chunks: number;
  splitKSlices: number; fc1WorkspaceBytes: number; splitBelowCtas: number;
}

/** The functions the addon exports (src/binding.cc). Arguments are `unknown`: the addon checks them. */
export interface RawBinding {
  /** flushL2: run() accepts options.flushL2Bytes (absent from addons built before it existed). */
  status(): { builtWithCuda: boolean; faultsBuild: boolean; reason: string; napiVersion: number; flushL2?: boolean };
  enums(): { routingMethod: string[]; quantMode: string[]; logitsDtype: string[]; biasDtype: string[]; activation: string[] };
  tacticTable(): { tileTokens: number[]; configs: RawConfigInfo[]; kTile: number };
  validTactics(problem: unknown): RawTactic[];
  defaultTactic(problem: unknown): RawTactic & { reason: string };
  checkTactic(problem: unknown, tactic: unknown): void;
  deviceInfo(): Promise<{ name: string; sm: string; memoryBytes: number; freeMemoryBytes?: number; multiProcessors: number }>;
  /** Device bytes prepare needs (src/deviceMemoryEstimate.h). Absent from addons built before it existed. */
  deviceMemoryEstimate?(problem: unknown): RawDeviceMemoryEstimate;
  /** Config 3's split over K at a problem (src/tactics.cc). Absent from older addons. */
  streamSplit?(problem: unknown, tactic: unknown): RawStreamSplit;
  /** The inputs digest (src/inputDigest.h) on the host / on the device. Absent from older addons. */
  hostInputsDigest?(buffers: unknown, threads?: unknown): string;
  deviceInputsDigest?(buffers: unknown): Promise<string>;
  prepare(c: unknown): Promise<object>;
  run(handle: unknown, options: unknown): Promise<{ output: Uint16Array; ids: Int32Array; weights: Float32Array; ms: number; flushedL2Bytes?: number }>;
  digest(handle: unknown): Promise<string>;
  release(handle: unknown): void;
  /**
   * Test probe of prepare's host copy (binding.cc CopiedInputsDigest): parses, validates and
   * copies the case like prepare, then hashes the copy in a worker thread after delayMs.
   * Absent from addons built before it existed.
   */
  copiedInputsDigest?(c: unknown, delayMs?: unknown): Promise<string>;
}

export type LoadResult = { ok: true; binding: RawBinding; path: string } | { ok: false; reason: string };

const here = path.dirname(fileURLToPath(import.meta.url));
const requireAddon = createRequire(import.meta.url);

/** Where the addon may lie: beside this file (tsx) or, from dist/native, in the source tree. */
function candidates(file: string): string[] {
  return [
    path.join(here, 'build', 'Release', file),
    path.join(here, '..', '..', 'native', 'build', 'Release', file),
  ];
}

const cache = new Map<AddonVariant, LoadResult>();

/** Load (once per variant) and return the addon or why it could not be loaded. */
export function loadAddon(variant: AddonVariant): LoadResult {
  const cached = cache.get(variant);
  if (cached) return cached;
  const file = ADDON_FILES[variant];
  const found = candidates(file).find((p) => existsSync(p));
  let result: LoadResult;
  if (!found) {
    const hint = variant === 'faults' ? 'node native/build.mjs --faults' : 'npm ci (or node native/build.mjs)';
    result = { ok: false, reason: `${file} not found (looked in ${candidates(file).join(', ')}); build it with ${hint}` };
  } else {
    try {
      result = { ok: true, binding: requireAddon(found) as RawBinding, path: found };
    } catch (e) {
      result = { ok: false, reason: `loading ${found} failed: ${e instanceof Error ? e.message : String(e)}` };
    }
  }
  cache.set(variant, result);
  return result;
}
