/**
 * The emulated kernel: a CPU MoE built on the reference's pieces (formats, quant,
 * routing) but with a kernel's own arithmetic, so its rounding differs realistically
 * from the reference's:
 *   - tactic-dependent accumulation order (emulatedTactics.ts: K tiles, split-K, a
 *     truncating MMA-like chain);
 *   - products fused into the float32 sum (an FMA: exact product, one rounding);
 *   - tactic-dependent finalize arithmetic, all within the contract's error model:
 *     config 0 w·(acc·out2Scale) rounded per product; config 1 folds the scales first,
 *     (w·out2Scale)·acc; config 2 fuses w·y into the slot sum (FMA);
 *   - a kernel-style float32 sigmoid 1/(1+exp(-x)) rounded at each step;
 *   - token tiles of tileTokens per expert (only tile-level faults see them).
 * Every fault of harness/faults.ts can be switched on. Slot outputs are cached per
 * accumulation order, so the 2 runs × every tactic of a case cost about three MoEs.
 */
import { createHash } from 'node:crypto';
import type { Case } from '../../reference/case.js';
import type { RoutingResult } from '../../reference/expected.js';
import { roundE4m3F32 } from '../../reference/formats/e4m3.js';
import { f32ToBf16, roundBf16 } from '../../reference/formats/bf16.js';
import { floorLog2, pow2 } from '../../reference/formats/float.js';
import { fc2InputFormat, QUANT_MODES, ROUTING_METHODS, type Problem } from '../../reference/problem.js';
import { requantizeInPlace } from '../../reference/quant/requantize.js';
import { routingMethod } from '../../reference/routing/registry.js';
import { routingInputFromCase } from '../../reference/routing/routingInput.js';
import type { RoutingInput } from '../../reference/routing/types.js';
import { BadArgumentError } from '../../reference/errors.js';
import { FAULT_NAMES, type FaultName } from '../faults.js';
import { dequantizeHiddenStates, dequantizeWeights } from './emulatedDequant.js';
import { emulatedRouting } from './emulatedRouting.js';
import { emulatedTacticInvalidity, emulatedTactics, emulatedUnavailableTactics, scheduleOf, scheduledDot, type KTiles } from './emulatedTactics.js';
import { DEFAULT_CONVENTIONS } from '../../reference/conventions.js';
import type { Provider, ProviderDescription, Observed, RunOptions, Tactic, TacticList } from './provider.js';

/** Bumped when the emulated kernel's arithmetic changes (its "build id"). */
const EMULATED_VERSION = '2';


export interface EmulatedOptions {
  readonly fault?: FaultName;
  /** Test hook: this tactic label crashes (process exit 134 in a child process, a thrown error otherwise). */
  readonly crashTactic?: string;
}

export interface EmulatedHandle {
  readonly c: Case;
  readonly x: Float32Array;
  readonly w1: Float32Array[];
  readonly w2: Float32Array[];
  readonly input: RoutingInput;
  readonly routing: RoutingResult;
  /** Local expert of each slot [T·k] (-1: not local), as this kernel computes it. */
  readonly localOf: Int32Array;
  readonly slots: Map<string, Float32Array>;
  runs: number;
}

const fr = Math.fround;

/** Kernel-style float32 sigmoid: every step rounded. */
function sigmoidK(x: number): number {
  return fr(1 / fr(1 + fr(Math.exp(-x))));
}

/** The FC2 input re-quantization of the mx_exponent_round_down fault: MXFP8 with floor(log2) scales. */
function requantMxfp8Floor(v: Float32Array, off: number, len: number): void {
  for (let base = off; base < off + len; base += 32) {
    let amax = 0;
    for (let i = base; i < base + 32; i++) amax = Math.max(amax, Math.abs(v[i]!));
    if (amax === 0 || !Number.isFinite(amax)) continue;
    const s = pow2(Math.max(-127, Math.min(127, floorLog2(amax / 448))));
    for (let i = base; i < base + 32; i++) v[i] = roundE4m3F32(fr(v[i]! / s)) * s;
  }
}

export class EmulatedKernel implements Provider<EmulatedHandle> {
  readonly name: string;
  readonly fault: FaultName | undefined;
  readonly crashTactic: string | undefined;

  constructor(opts: EmulatedOptions = {}) {
    if (opts.fault !== undefined && !FAULT_NAMES.includes(opts.fault)) {
      throw new BadArgumentError('fault', `one of ${FAULT_NAMES.join(', ')}`, JSON.stringify(opts.fault));
    }
    this.fault = opts.fault;
    this.crashTactic = opts.crashTactic;
    this.name = opts.fault ? `emulated+fault:${opts.fault}` : 'emulated';
  }

  async describe(): Promise<ProviderDescription> {
    return {
      name: this.name, version: `emulated@${EMULATED_VERSION}`, device: 'cpu', quantModes: QUANT_MODES,
      routingMethods: ROUTING_METHODS, conventions: DEFAULT_CONVENTIONS,
    };
  }

  async tactics(problem: Problem): Promise<TacticList> {
    return { tactics: emulatedTactics(problem), unavailable: emulatedUnavailableTactics(problem) };
  }

  async prepare(c: Case): Promise<EmulatedHandle> {
    const p = c.spec.problem;
    const El = p.localExperts;
    const read = this.fault === 'neighbour_block_scale' ? 'last_block_reads_left_neighbour' : 'own';
    const w1: Float32Array[] = [];
    const w2: Float32Array[] = [];
    for (let l = 0; l < El; l++) {
      w1.push(dequantizeWeights(c, c.fc1, l, 2 * p.I, p.H, read));
      w2.push(dequantizeWeights(c, c.fc2, l, p.H, p.I));
    }
    const input = routingInputFromCase(c);
    const routing = emulatedRouting(input, this.fault);
    const offset = this.fault === 'ep_offset_off_by_one' ? p.localOffset + 1 : p.localOffset;
    const localOf = new Int32Array(p.T * p.topK);
    for (let i = 0; i < localOf.length; i++) {
      const l = routing.ids[i]! - offset;
      localOf[i] = l >= 0 && l < El ? l : -1;
    }
    return { c, x: dequantizeHiddenStates(c), w1, w2, input, routing, localOf, slots: new Map(), runs: 0 };
  }

  /** Slot outputs y [T·k, H] (out2Scale applied except for config 1, which folds it into the weight) for one accumulation order. */
  private slotOutputs(h: EmulatedHandle, config: number, kTiles: KTiles): Float32Array {
    const key = `${config}${kTiles === 'skip_last' ? '/skip' : ''}`;
    const hit = h.slots.get(key);
    if (hit) return hit;
    const { c, x, w1, w2, routing, localOf } = h;
    const p = c.spec.problem;
    const { T, H, I, topK: k } = p;
    const s = scheduleOf(config);
    const beforeFc1 = routingMethod(p.routing.method).weightPlacement === 'before_fc1';
    const format = fc2InputFormat(p.quantMode);
    const y = new Float32Array(T * k * H);
    const acc = new Float32Array(2 * I);
    const a = new Float32Array(I);
    const swapped = this.fault === 'gate_up_swapped';
    for (let t = 0; t < T; t++) {
      for (let j = 0; j < k; j++) {
        const l = localOf[t * k + j]!;
        if (l < 0) continue;
        const W1 = w1[l]!;
        for (let r = 0; r < 2 * I; r++) acc[r] = scheduledDot(W1, r * H, x, t * H, H, s, kTiles);
        const pre = beforeFc1 ? routing.weights[t * k + j]! : 1;
        const gateScale = fr(c.out1GateScale[l]!);
        const upScale = fr(c.out1Scale[l]!);
        const ratio = fr(upScale / gateScale);
        const sw = c.swiglu;
        const alpha = sw ? fr(sw.alpha[l]!) : 1;
        const betaC = sw ? fr(fr(sw.beta[l]!) * ratio) : 0;
        const L = sw ? fr(sw.limit[l]!) : Infinity;
        const LC = sw ? fr(L * ratio) : Infinity;
        for (let i = 0; i < I; i++) {
          let au = swapped ? acc[I + i]! : acc[i]!;
          let ag = swapped ? acc[i]! : acc[I + i]!;
          if (pre !== 1) {
            au = fr(au * pre);
            ag = fr(ag * pre);
          }
          let gate = fr(ag * gateScale);
          let up = fr(au * upScale);
          if (sw) {
            gate = Math.min(gate, L);
            up = Math.max(-LC, Math.min(LC, up));
            a[i] = fr(fr(gate * sigmoidK(fr(alpha * gate))) * fr(up + betaC));
          } else {
            a[i] = fr(fr(gate * sigmoidK(gate)) * up);
          }
        }
        if (format === 'mxfp8' && this.fault === 'mx_exponent_round_down') requantMxfp8Floor(a, 0, I);
        else requantizeInPlace(format, a, 0, I);
        const W2 = w2[l]!;
        const o2 = config === 1 ? 1 : this.out2Scale(c, l);
        const base = (t * k + j) * H;
        for (let hh = 0; hh < H; hh++) y[base + hh] = fr(scheduledDot(W2, hh * I, a, 0, I, s) * o2);
      }
    }
    h.slots.set(key, y);
    return y;
  }

  /** out2Scale of local expert l as this kernel reads it. */
  private out2Scale(c: Case, l: number): number {
    return this.fault === 'expert_scale_ignored' && l === 1 ? 1 : fr(c.out2Scale[l]!);
  }

  /** Slots [T·k] dropped by the dropped_last_partial_tile fault for this tile size: 1. */
  private droppedSlots(h: EmulatedHandle, tileTokens: number): Uint8Array {
    const n = h.localOf.length;
    const dropped = new Uint8Array(n);
    if (this.fault !== 'dropped_last_partial_tile') return dropped;
    const byExpert = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      const l = h.localOf[i]!;
      if (l >= 0) (byExpert.get(l) ?? byExpert.set(l, []).get(l)!).push(i);
    }
    for (const slots of byExpert.values()) {
      const rem = slots.length % tileTokens;
      for (let m = slots.length - rem; m < slots.length; m++) dropped[slots[m]!] = 1;
    }
    return dropped;
  }

  async run(h: EmulatedHandle, tactic: Tactic, opts: RunOptions): Promise<Observed> {
    const started = performance.now();
    const p = h.c.spec.problem;
    const why = emulatedTacticInvalidity(p, tactic.tileTokens, tactic.config);
    if (why !== null) throw new BadArgumentError('tactic', 'a tactic the emulated kernel enumerates for this problem', `${tactic.label} (${why})`);
    if (this.crashTactic === tactic.label) {
      if (process.send !== undefined) process.exit(134);
      throw new Error(`simulated crash of tactic ${tactic.label}`);
    }
    const { T, H, topK: k } = p;
    const run = h.runs++;
    let kTiles: KTiles = 'all';
    if (this.fault === 'tactic_skips_last_k_block' && tactic.config === 0) {
      const largest = Math.max(...emulatedTactics(p).filter((t) => t.config === 0).map((t) => t.tileTokens));
      kTiles = tactic.tileTokens === largest ? 'skip_last' : 'all';
    }
    const y = this.slotOutputs(h, tactic.config, kTiles);
    const dropped = this.droppedSlots(h, tactic.tileTokens);
    const beforeFc1 = routingMethod(p.routing.method).weightPlacement === 'before_fc1';
    const w = h.routing.weights;
    const folded = new Float32Array(T * k);
    if (tactic.config === 1) {
      for (let i = 0; i < T * k; i++) {
        const l = h.localOf[i]!;
        if (l >= 0) folded[i] = fr((beforeFc1 ? 1 : w[i]!) * this.out2Scale(h.c, l));
      }
    }
    const output = new Uint16Array(T * H).fill(opts.poison);
    const rows = this.fault === 'last_row_unwritten' ? T - 1 : T;
    const nondet = this.fault === 'nondeterministic_finalize';
    for (let t = 0; t < rows; t++) {
      for (let hh = 0; hh < H; hh++) {
        let sum = 0;
        for (let m = 0; m < k; m++) {
          const j = nondet ? (m + run) % k : m;
          const slot = t * k + j;
          if (h.localOf[slot]! < 0 || dropped[slot]) continue;
          const v = y[slot * H + hh]!;
          const wt = beforeFc1 ? 1 : w[slot]!;
          // config 1: scales folded first; config 2: w·y fused into the sum (exact product).
          const term = tactic.config === 1 ? fr(folded[slot]! * v) : tactic.config === 2 ? wt * v : fr(wt * v);
          // nondeterministic_finalize: bf16 atomic adds in a run-dependent slot order.
          sum = nondet ? roundBf16(sum + term) : fr(sum + term);
        }
        output[t * H + hh] = f32ToBf16(sum);
      }
    }
    return { output, ids: Int32Array.from(h.routing.ids), weights: Float32Array.from(w), ms: performance.now() - started, executedTactic: tactic.label };
  }

  async inputsDigest(h: EmulatedHandle): Promise<string> {
    const c = h.c;
    const hash = createHash('sha256');
    const add = (a: ArrayBufferView | null): void => {
      if (a !== null) hash.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    };
    add(c.logits);
    add(c.bias);
    const hid = c.hidden;
    if (hid.format === 'bf16') add(hid.data);
    else if (hid.format === 'nvfp4') { add(hid.packed); add(hid.scales); } else { add(hid.data); add(hid.scales); }
    for (const w of [c.fc1, c.fc2]) { for (const x of w.packed.chunks) add(x); for (const x of w.scales.chunks) add(x); add(w.globalScale); }
    add(c.out1Scale); add(c.out1GateScale); add(c.out2Scale);
    if (c.swiglu) { add(c.swiglu.alpha); add(c.swiglu.beta); add(c.swiglu.limit); }
    return hash.digest('hex').slice(0, 16);
  }

  async release(h: EmulatedHandle): Promise<void> {
    h.slots.clear();
  }

  async close(): Promise<void> {}
}
