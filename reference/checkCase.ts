/**
 * Shape and value checks of a Case before the reference MoE runs on it: every tensor's
 * type and length against its problem, the scalars, the SwiGLU parameters. Each failure
 * is a BadArgumentError naming the field, the expected and the actual value.
 */
import type { Case, Fp4Weights } from './case.js';
import { BadArgumentError, describeValue } from './errors.js';
import { ExpertBytes } from './expertBytes.js';
import { hiddenFormat, QUANT_MODES, weightBlock, type Problem, type QuantMode } from './problem.js';

/** How a weight block scale byte is encoded: e4m3 (NVFP4) or ue8m0 (the MXFP4 modes). */
export type ScaleByteFormat = 'e4m3' | 'ue8m0';

/** The weight scale byte format of a quant mode. */
export function scaleByteFormat(q: QuantMode): ScaleByteFormat {
  return q === 'nvfp4' ? 'e4m3' : 'ue8m0';
}

function checkInt(name: string, v: unknown, min: number): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw new BadArgumentError(name, `an integer >= ${min}`, describeValue(v));
  }
}

function checkArray(name: string, v: unknown, ctor: { name: string; prototype: object }, length: number, what: string): void {
  if (!(v instanceof (ctor as unknown as new () => object))) {
    throw new BadArgumentError(name, `${ctor.name}(${length}) (${what})`, describeValue(v));
  }
  const len = (v as unknown as { length: number }).length;
  if (len !== length) throw new BadArgumentError(name, `${ctor.name}(${length}) (${what})`, describeValue(v));
}

/** An ExpertBytes of `count` experts of `bytesPerExpert` bytes each. */
function checkExpertBytes(name: string, v: unknown, count: number, bytesPerExpert: number, what: string): void {
  const expected = `ExpertBytes of ${count} experts × ${bytesPerExpert} bytes (${what})`;
  if (!(v instanceof ExpertBytes)) throw new BadArgumentError(name, expected, describeValue(v));
  if (v.count !== count || v.bytesPerExpert !== bytesPerExpert) {
    throw new BadArgumentError(name, expected, `${v.count} experts × ${v.bytesPerExpert} bytes`);
  }
}

function checkFinite(name: string, a: Float32Array, what: (x: number) => boolean, expected: string): void {
  for (let i = 0; i < a.length; i++) {
    if (!what(a[i]!)) throw new BadArgumentError(`${name}[${i}]`, expected, String(a[i]));
  }
}

/** The problem's shape fields (what the reference relies on). */
function checkProblemShape(p: Problem): void {
  if (typeof p !== 'object' || p === null) throw new BadArgumentError('case.spec.problem', 'a Problem object', describeValue(p));
  checkInt('problem.T', p.T, 1);
  checkInt('problem.H', p.H, 1);
  checkInt('problem.I', p.I, 1);
  checkInt('problem.E', p.E, 1);
  checkInt('problem.topK', p.topK, 1);
  checkInt('problem.localOffset', p.localOffset, 0);
  checkInt('problem.localExperts', p.localExperts, 1);
  if (!(QUANT_MODES as readonly string[]).includes(p.quantMode)) {
    throw new BadArgumentError('problem.quantMode', `one of ${QUANT_MODES.join(', ')}`, describeValue(p.quantMode));
  }
  if (p.topK > p.E) throw new BadArgumentError('problem.topK', `at most E = ${p.E}`, String(p.topK));
  if (p.localOffset + p.localExperts > p.E) {
    throw new BadArgumentError('problem.localOffset + localExperts', `at most E = ${p.E}`, `${p.localOffset} + ${p.localExperts}`);
  }
  const sf = weightBlock(p.quantMode);
  if (p.H % sf !== 0) throw new BadArgumentError('problem.H', `a multiple of ${sf} (${p.quantMode} block)`, String(p.H));
  if (p.I % sf !== 0) throw new BadArgumentError('problem.I', `a multiple of ${sf} (${p.quantMode} block)`, String(p.I));
  const kind = p.activation?.kind;
  if (kind !== 'swiglu' && kind !== 'swiglu_clamped') {
    throw new BadArgumentError('problem.activation.kind', "'swiglu' or 'swiglu_clamped'", describeValue(kind));
  }
}

function checkWeights(
  name: 'case.fc1' | 'case.fc2', w: Fp4Weights, El: number, rows: number, cols: number, sf: number, format: ScaleByteFormat, scan: NanScaleScan,
): void {
  if (typeof w !== 'object' || w === null) throw new BadArgumentError(name, 'Fp4Weights', describeValue(w));
  checkExpertBytes(`${name}.packed`, w.packed, El, (rows * cols) / 2, `[El, ${rows}, ${cols}/2] packed e2m1`);
  checkExpertBytes(`${name}.scales`, w.scales, El, (rows * cols) / sf, `[El, ${rows}, ${cols}/${sf}] scales`);
  checkArray(`${name}.globalScale`, w.globalScale, Float32Array, El, '[El]');
  if (scan === 'here') checkNanScales(name, w.scales, format);
}

/** Throws nanScaleError for the first NaN scale byte of weights `name`, if any. */
export function checkNanScales(name: 'case.fc1' | 'case.fc2', scales: ExpertBytes, format: ScaleByteFormat): void {
  let offset = 0;
  for (const chunk of scales.chunks) {
    const bad = firstNanScale(chunk, format);
    if (bad >= 0) throw nanScaleError(name, scales, offset + bad, format);
    offset += chunk.length;
  }
}

/**
 * The error for a NaN scale byte (e4m3 S.1111.111, ue8m0 255) at `index` of weights `name`
 * ('case.fc1' or 'case.fc2').
 */
export function nanScaleError(name: string, scales: ExpertBytes, index: number, format: ScaleByteFormat): BadArgumentError {
  return new BadArgumentError(`${name}.scales[${index}]`, `a non-NaN ${format} scale byte`, `0x${scales.at(index).toString(16)}`);
}

/**
 * Where checkCase looks for NaN weight scales: 'here' (in checkCase), or 'caller': the
 * caller scans them itself (firstNanScale on every fc1, then fc2 scale) before returning
 * anything computed from the weights, and throws nanScaleError for the first NaN it finds
 * (the fast path scans in its workers after the first chunk's experts: a NaN scale only
 * makes NaN values, never a crash).
 */
export type NanScaleScan = 'here' | 'caller';

const isNanScale = (b: number, format: ScaleByteFormat) => (format === 'e4m3' ? (b & 0x7f) === 0x7f : b === 255);

/**
 * Index of the first NaN scale byte, or -1. Scans four bytes at a time: with
 * t = (x & m) ^ m (m = 0x7f7f7f7f for e4m3, 0xffffffff for ue8m0), a NaN byte is a zero
 * byte of t, found by the classic (t - 0x01010101) & ~t & 0x80808080 test.
 */
export function firstNanScale(s: Uint8Array, format: ScaleByteFormat): number {
  const head = Math.min(s.length, (4 - (s.byteOffset & 3)) & 3);
  for (let i = 0; i < head; i++) if (isNanScale(s[i]!, format)) return i;
  const words = (s.length - head) >> 2;
  if (words === 0) { // (a view at an unaligned offset may not even be empty)
    for (let i = head; i < s.length; i++) if (isNanScale(s[i]!, format)) return i;
    return -1;
  }
  const w = new Uint32Array(s.buffer, s.byteOffset + head, words);
  const m = format === 'e4m3' ? 0x7f7f7f7f : 0xffffffff;
  for (let j = 0; j < words; j++) {
    const t = (w[j]! & m) ^ m;
    if (((t - 0x01010101) & ~t & 0x80808080) !== 0) {
      for (let i = head + 4 * j; i < head + 4 * j + 4; i++) if (isNanScale(s[i]!, format)) return i;
    }
  }
  for (let i = head + 4 * words; i < s.length; i++) if (isNanScale(s[i]!, format)) return i;
  return -1;
}

/** Validate every tensor of a Case against its problem (throws BadArgumentError). */
export function checkCase(c: Case, nanScales: NanScaleScan = 'here'): void {
  if (typeof c !== 'object' || c === null) throw new BadArgumentError('case', 'a Case object', describeValue(c));
  if (typeof c.spec !== 'object' || c.spec === null) throw new BadArgumentError('case.spec', 'a CaseSpec object', describeValue(c.spec));
  const p = c.spec.problem;
  checkProblemShape(p);
  const { T, H, I, localExperts: El } = p;
  const sf = weightBlock(p.quantMode);
  const hf = hiddenFormat(p.quantMode);
  const hid = c.hidden;
  if (typeof hid !== 'object' || hid === null || hid.format !== hf) {
    throw new BadArgumentError('case.hidden.format', `'${hf}' (quantMode ${p.quantMode})`, describeValue(hid?.format));
  }
  if (hid.format === 'bf16') {
    checkArray('case.hidden.data', hid.data, Uint16Array, T * H, '[T, H] bf16 bits');
  } else if (hid.format === 'nvfp4') {
    checkArray('case.hidden.packed', hid.packed, Uint8Array, (T * H) / 2, '[T, H/2] packed e2m1');
    checkArray('case.hidden.scales', hid.scales, Uint8Array, (T * H) / 16, '[T, H/16] e4m3');
    if (!(hid.globalScale > 0) || !Number.isFinite(hid.globalScale)) {
      throw new BadArgumentError('case.hidden.globalScale', 'a finite number > 0', String(hid.globalScale));
    }
  } else {
    checkArray('case.hidden.data', hid.data, Uint8Array, T * H, '[T, H] e4m3');
    checkArray('case.hidden.scales', hid.scales, Uint8Array, (T * H) / 32, '[T, H/32] ue8m0');
  }
  const format = scaleByteFormat(p.quantMode);
  checkWeights('case.fc1', c.fc1, El, 2 * I, H, sf, format, nanScales);
  checkWeights('case.fc2', c.fc2, El, H, I, sf, format, nanScales);
  const finite = (x: number) => Number.isFinite(x);
  for (const name of ['out1Scale', 'out1GateScale', 'out2Scale'] as const) {
    checkArray(`case.${name}`, c[name], Float32Array, El, '[El] float32');
    checkFinite(`case.${name}`, c[name], finite, 'a finite number');
  }
  if (p.activation.kind === 'swiglu') {
    if (c.swiglu !== null) throw new BadArgumentError('case.swiglu', "null (activation 'swiglu')", describeValue(c.swiglu));
  } else {
    if (typeof c.swiglu !== 'object' || c.swiglu === null) {
      throw new BadArgumentError('case.swiglu', "per-expert alpha/beta/limit (activation 'swiglu_clamped')", describeValue(c.swiglu));
    }
    for (const name of ['alpha', 'beta', 'limit'] as const) {
      checkArray(`case.swiglu.${name}`, c.swiglu[name], Float32Array, El, '[El] float32');
    }
    checkFinite('case.swiglu.alpha', c.swiglu.alpha, finite, 'a finite number');
    checkFinite('case.swiglu.beta', c.swiglu.beta, finite, 'a finite number');
    checkFinite('case.swiglu.limit', c.swiglu.limit, (x) => x >= 0, 'a number >= 0 (+Infinity: no clamp)');
    checkFinite('case.out1GateScale', c.out1GateScale, (x) => x !== 0, 'non-zero (c = out1Scale/out1GateScale)');
  }
}

/** Validate forced routing ids: Int32Array [T, k] of ids in [0, E). */
export function checkForcedIds(p: Problem, ids: unknown): asserts ids is Int32Array {
  checkArray('forcedIds', ids, Int32Array, p.T * p.topK, '[T, k] expert ids');
  const a = ids as Int32Array;
  for (let i = 0; i < a.length; i++) {
    if (!(a[i]! >= 0 && a[i]! < p.E)) {
      throw new BadArgumentError(`forcedIds[${i}]`, `an expert id in [0, ${p.E})`, String(a[i]));
    }
  }
}
