/**
 * Expert weights generated DIRECTLY as quantized data (no float weights ever exist, so
 * configurations of several GB stay lean and fast):
 *
 * - e2m1 codes: independent per element from a bell-shaped distribution over codes
 *   (CODE_COUNTS, what NVFP4/MXFP4 quantization of Gaussian weights produces: magnitudes
 *   0, 0.5, 1, 1.5, 2, 3, 4, 6 with weights 9, 17, 16, 15, 20, 20, 19, 12 of 128, both
 *   signs equally likely, -0 (code 8) included), drawn two per byte through a
 *   65536-entry table (16 random bits → one packed byte).
 * - block scales: NVFP4 e4m3 codes uniform over 0x60..0x7E (32 … 448, log-uniform);
 *   MXFP4 ue8m0 codes uniform over a 6-code band placed so the weight RMS is about
 *   τ_e/√cols.
 * - per-expert magnitude τ_e = m·2^k (m in [1,2); k in [-1, 0], or [-10, 9] for the
 *   `decades` family): NVFP4 sets the global encode scale w_e so that the RMS of the
 *   weights q·s/w_e is τ_e/√cols; MXFP4 shifts the scale band by k binades.
 * - zero_blocks: each block is zero (scale byte 0, codes 0) with probability 1/16.
 * - zero_expert: the chosen expert has every code and scale 0 and global scale 1.
 *
 * Expert e's bytes come from streams named by its GLOBAL index (`fc1:e`, `fc1:e:header`),
 * so an expert-parallel slice holds exactly the same experts as the full problem.
 */
import type { Fp4Weights, ScaleFamily } from '../case.js';
import { E4M3_VALUES } from '../formats/e4m3.js';
import { ExpertBytes, type ExpertLayoutOptions } from '../expertBytes.js';
import { E2M1_VALUES } from '../formats/e2m1.js';
import { floorLog2, pow2 } from '../formats/float.js';
import { UE8M0_VALUES } from '../formats/ue8m0.js';
import { weightBlock, type Problem } from '../problem.js';
import { streamRng } from '../rng.js';
import { fillFromTable16Wasm } from './wasmFill.js';

export type WhichWeights = 'fc1' | 'fc2';

/** Occurrences out of 128 of the magnitude codes 0..7 (per sign). */
export const CODE_COUNTS = [9, 17, 16, 15, 20, 20, 19, 12] as const;

/** 8 random bits → one e2m1 code (both signs). */
const CODE8 = (() => {
  const t = new Uint8Array(256);
  let i = 0;
  for (let c = 0; c < 8; c++) {
    for (let n = 0; n < CODE_COUNTS[c]!; n++, i++) {
      t[i] = c;
      t[i + 128] = c | 8;
    }
  }
  return t;
})();

/** 16 random bits → one packed byte of two independent codes. */
const PAIR16 = (() => {
  const t = new Uint8Array(65536);
  for (let i = 0; i < 65536; i++) t[i] = CODE8[i & 255]! | (CODE8[i >> 8]! << 4);
  return t;
})();

/** RMS of the decoded codes under CODE8. */
const CODE_RMS = (() => {
  let s = 0;
  for (let i = 0; i < 256; i++) s += E2M1_VALUES[CODE8[i]!]! ** 2;
  return Math.sqrt(s / 256);
})();

/** NVFP4 scale band: 8 random bits → e4m3 code in 0x60..0x7E. */
const NV_SCALE8 = (() => {
  const t = new Uint8Array(256);
  for (let i = 0; i < 256; i++) t[i] = 0x60 + Math.floor((i * 31) / 256);
  return t;
})();
const NV_SCALE_RMS = (() => {
  let s = 0;
  for (let i = 0; i < 256; i++) s += E4M3_VALUES[NV_SCALE8[i]!]! ** 2;
  return Math.sqrt(s / 256);
})();

/** MXFP4 scale band: 8 random bits → offset 0..5 added to the expert's base code. */
const MX_BAND = 6;
const MX_OFFSET8 = (() => {
  const t = new Uint8Array(256);
  for (let i = 0; i < 256; i++) t[i] = Math.floor((i * MX_BAND) / 256);
  return t;
})();
/** RMS of 2^offset under MX_OFFSET8. */
const MX_OFFSET_RMS = (() => {
  let s = 0;
  for (let i = 0; i < 256; i++) s += pow2(2 * MX_OFFSET8[i]!);
  return Math.sqrt(s / 256);
})();

const ZERO_BLOCK8 = (() => {
  const t = new Uint8Array(256);
  t.fill(1, 0, 16); // probability 1/16
  return t;
})();

/** Rows and columns of one expert's FC1 or FC2 matrix. */
export function weightShape(p: Problem, which: WhichWeights): { rows: number; cols: number } {
  return which === 'fc1' ? { rows: 2 * p.I, cols: p.H } : { rows: p.H, cols: p.I };
}

export interface ExpertHeader {
  /** NVFP4 global encode scale w_e (1 for MXFP4). */
  readonly globalScale: number;
  /** MXFP4: ue8m0 code of the band's lowest scale (unused for NVFP4). */
  readonly mxBaseCode: number;
  /** Expected RMS of the weights in true units (q·s/w_e), from the distributions. */
  readonly rms: number;
}

/** Per-expert parameters of global expert e, from its own header stream (cheap; used for all E). */
export function expertHeader(seed: number, p: Problem, which: WhichWeights, e: number, family: ScaleFamily): ExpertHeader {
  const rng = streamRng(seed, `${which}:${e}:header`);
  const { cols } = weightShape(p, which);
  const decades = family === 'decades';
  const m = 1 + rng.unit();
  const k = decades ? rng.intIn(-10, 9) : rng.intIn(-1, 0);
  const tau = m * pow2(k);
  const target = tau / Math.sqrt(cols);
  if (p.quantMode === 'nvfp4') {
    const w = Math.fround((CODE_RMS * NV_SCALE_RMS) / target);
    return { globalScale: w, mxBaseCode: 0, rms: (CODE_RMS * NV_SCALE_RMS) / w };
  }
  // Band base so that CODE_RMS·MX_OFFSET_RMS·2^(base-127) is within a factor 2 of target.
  const base = Math.min(254 - (MX_BAND - 1), Math.max(1, 127 + floorLog2(target / (CODE_RMS * MX_OFFSET_RMS))));
  return { globalScale: 1, mxBaseCode: base, rms: CODE_RMS * MX_OFFSET_RMS * UE8M0_VALUES[base]! };
}

/** Bytes of one expert's packed codes and block scales. */
export function expertByteCounts(p: Problem, which: WhichWeights): { packed: number; scales: number } {
  const { rows, cols } = weightShape(p, which);
  return { packed: (rows * cols) / 2, scales: (rows * cols) / weightBlock(p.quantMode) };
}

/**
 * Local expert l's packed codes and block scales, written into `packed` and `scales` (its
 * views, zero-filled: the zero expert is left as it is); returns its global encode scale.
 * Depends only on (seed, problem, which, family, global expert index): experts can be
 * generated in any order, on any thread (generate/parallel.ts).
 */
export function generateExpertInto(seed: number, p: Problem, which: WhichWeights, family: ScaleFamily, zeroLocal: number, l: number, packed: Uint8Array, scales: Uint8Array): number {
  if (l === zeroLocal) return 1; // codes 0, scales 0, global scale 1 (an all-zero tensor)
  const sf = weightBlock(p.quantMode);
  const perPacked = packed.length;
  const perScales = scales.length;
  const e = p.localOffset + l;
  const header = expertHeader(seed, p, which, e, family);
  const rng = streamRng(seed, `${which}:${e}`);
  if (p.quantMode === 'nvfp4') {
    rng.fillFromTable8(scales, 0, perScales, NV_SCALE8);
  } else {
    rng.fillFromTable8(scales, 0, perScales, MX_OFFSET8);
    const base = header.mxBaseCode;
    for (let i = 0; i < perScales; i++) scales[i] += base;
  }
  fillFromTable16Wasm(rng, packed, 0, perPacked, PAIR16); // rng.fillFromTable16's bytes, in WebAssembly
  if (family === 'zero_blocks') {
    const flags = new Uint8Array(perScales);
    rng.fillFromTable8(flags, 0, perScales, ZERO_BLOCK8);
    const bytesPerBlock = sf / 2;
    for (let b = 0; b < perScales; b++) {
      if (flags[b]) {
        scales[b] = 0;
        packed.fill(0, b * bytesPerBlock, (b + 1) * bytesPerBlock);
      }
    }
  }
  return header.globalScale;
}

/**
 * FC1 or FC2 weights of the local experts, on this thread. `zeroLocal` is the local index
 * of the all-zero expert (zero_expert family) or -1. `layout` picks the chunk size and
 * memory of the per-expert storage (the bytes do not depend on it).
 */
export function generateWeights(seed: number, p: Problem, which: WhichWeights, family: ScaleFamily, zeroLocal: number, layout: ExpertLayoutOptions = {}): Fp4Weights {
  const El = p.localExperts;
  const per = expertByteCounts(p, which);
  const packed = ExpertBytes.allocate(El, per.packed, layout);
  const scales = ExpertBytes.allocate(El, per.scales, layout);
  const globalScale = new Float32Array(El).fill(1);
  for (let l = 0; l < El; l++) {
    globalScale[l] = generateExpertInto(seed, p, which, family, zeroLocal, l, packed.expert(l), scales.expert(l));
  }
  return { packed, scales, globalScale };
}
