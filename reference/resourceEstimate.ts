/**
 * Memory estimates made BEFORE anything is allocated, and the limits they are held to, so a
 * case or a reference run that cannot fit is refused at once (BadArgumentError naming the
 * argument, the estimate and the limit) instead of running for an hour or exhausting memory.
 *
 * The limit is never a fixed cap on T, H, I or E: it is the memory this process may use now,
 *   available = min(os.freemem()               (Linux: MemAvailable, page cache counted free),
 *                   process.constrainedMemory() − resident set   (cgroup limit, where set))
 * read at each check, or MOE_HARNESS_MEMORY_BYTES when set (an explicit budget, e.g. to
 * leave room for other jobs). So a full-size DeepSeek-V3 case (256 experts, H=7168, I=2048:
 * 11.3 G FP4 weights, 5.91 GiB with their scales) is accepted on a machine with that much free memory
 * and refused, with the figures, on one without.
 *
 * Estimates (bytes; El = localExperts, sf = 16 NVFP4 / 32 MX weight block, k = topK):
 *   case arrays     logits T·E·(4|2) + bias E·(4|2) + hidden (nvfp4 T·H/2 + T·H/16, mxfp8
 *                   T·H + T·H/32, bf16 2·T·H) + fc1 El·2I·H·(1/2 + 1/sf) + fc2 El·H·I·(1/2 + 1/sf)
 *                   + 6 per-expert float32 vectors
 *   generation      case arrays + 8·T·E (float32 logits and an int32 index before rounding)
 *   float32 run     its shared copies of hidden, fc1, fc2 (= their bytes) + scratch: decoded
 *                   hidden 4·T·H, per-slot 3·4·chunk·k·H (chunk·k·H ≤ 32 Mi floats, runFast.ts),
 *                   token sums and outputs 3·4·T·H + 2·T·H; + the Expected built from them
 *                   18·T·H + routing 16·T·k, + threads × WORKER_BYTES. What a run finds
 *                   already allocated (copies of the same case, kept scratch, a live pool of
 *                   the same size: HeldMemory) is subtracted, so a second run of a big case
 *                   is not refused for memory its first run still holds.
 *   float64 run     the oracle's [T, k, H] float32 slot arrays 12·T·k·H, 16·T·k·H with a
 *                   declared bf16 FC2 output (its per-slot allowance; counted always: an
 *                   upper bound) + one expert's decoded weights 12·I·H (float32 [2I, H] and
 *                   [H, I]) + decoded hidden 4·T·H + outputs 14·T·H + 16·T·k
 * Each typed array must also fit Node's limit on one array, buffer.constants.MAX_LENGTH bytes:
 * the weights are stored per expert (expertBytes.ts: chunks of whole experts, at most 1 GiB
 * unless one expert is larger), so for them the limit applies to ONE expert's bytes, never to
 * the tensor (a 384-expert model's 5 GiB FC1 is fine); the float64 oracle's [T, k, H] float32
 * slot arrays are single arrays, so it refuses T·k·H > 2^30 (e.g. DeepSeek-V3 at T ≥ 18725,
 * where T·k·H crosses 2^30) with the figures: the float32 fast path works in token chunks
 * and takes such cases.
 *
 * Threads: a reference run may use at most max(16, 4 × os.availableParallelism()) workers:
 * more workers than that only time-share the cores (no speed-up), and each costs a worker
 * start (~0.3 s) and WORKER_BYTES of memory; the memory estimate above still applies.
 */
import { constants as bufferConstants } from 'node:buffer';
import { availableParallelism, freemem } from 'node:os';
import { memoryBytesFrom } from './referenceEnvironment.js';
import { BadArgumentError } from './errors.js';
import { hiddenFormat, weightBlock, type Problem } from './problem.js';

/**
 * Memory of one fast-path worker thread (V8 isolate + tfjs-wasm engine + its scratch):
 * measured 33–45 MiB per added worker on Node 20 (RSS of 1, 9 and 25 workers: 130, 489,
 * 1014 MiB), rounded up.
 */
export const WORKER_BYTES = 48 * 2 ** 20;

/** Floats per per-slot scratch buffer of the fast path (runFast.ts SLOT_BUDGET). */
const SLOT_FLOATS = 32 * 2 ** 20;

/** The memory this process may allocate now, and where the figure comes from. */
export interface MemoryBudget {
  readonly bytes: number;
  readonly source: string;
}

/** The current budget (see the file comment). MOE_HARNESS_MEMORY_BYTES overrides. */
export function memoryBudget(): MemoryBudget {
  const n = memoryBytesFrom();
  if (n !== undefined) return { bytes: n, source: 'MOE_HARNESS_MEMORY_BYTES' };
  let bytes = freemem();
  let source = 'free memory (os.freemem)';
  const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
  if (constrained !== undefined && constrained > 0 && constrained < 2 ** 60) {
    const left = constrained - process.memoryUsage().rss;
    if (left < bytes) {
      bytes = Math.max(0, left);
      source = 'the cgroup memory limit less this process\'s resident memory';
    }
  }
  return { bytes, source };
}

/** Most fast-path worker threads a run may ask for (see the file comment). */
export function maxReferenceThreads(cores: number = availableParallelism()): number {
  return Math.max(16, 4 * cores);
}

/** The largest typed array Node allows, in bytes. */
const MAX_ARRAY_BYTES = bufferConstants.MAX_LENGTH;

/** Names of the per-expert weight tensors among caseArrayBytes' (each stored per expert). */
const PER_EXPERT = new Set(['fc1.packed', 'fc1.scales', 'fc2.packed', 'fc2.scales']);

/**
 * Bytes of each tensor of a generated case, by name (a weight tensor's total over the local
 * experts: its per-expert storage may exceed one array's limit).
 */
export function caseArrayBytes(p: Problem): Record<string, number> {
  const { T, H, I, E } = p;
  const El = p.localExperts;
  const sf = weightBlock(p.quantMode);
  const lb = p.logitsDtype === 'bfloat16' ? 2 : 4;
  const hf = hiddenFormat(p.quantMode);
  const out: Record<string, number> = { logits: T * E * lb };
  if (p.biasDtype !== 'none') out.bias = E * (p.biasDtype === 'bfloat16' ? 2 : 4);
  if (hf === 'nvfp4') Object.assign(out, { 'hidden.packed': (T * H) / 2, 'hidden.scales': (T * H) / 16 });
  else if (hf === 'mxfp8') Object.assign(out, { 'hidden.data': T * H, 'hidden.scales': (T * H) / 32 });
  else out['hidden.data'] = 2 * T * H;
  Object.assign(out, {
    'fc1.packed': (El * 2 * I * H) / 2, 'fc1.scales': (El * 2 * I * H) / sf,
    'fc2.packed': (El * H * I) / 2, 'fc2.scales': (El * H * I) / sf,
    'per-expert vectors': 6 * 4 * El,
  });
  return out;
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((s, v) => s + v, 0);

/** Bytes generateCase allocates for the problem. */
export function generationBytes(p: Problem): number {
  return sum(caseArrayBytes(p)) + 8 * p.T * p.E;
}

/**
 * What a float32 run finds already allocated and reuses: shared copies of this case's
 * arrays (bytes), the fast path's kept scratch (bytes), and live workers of the same count.
 */
export interface HeldMemory {
  readonly copies: number;
  readonly scratch: number;
  readonly workers: number;
}
const NOTHING_HELD: HeldMemory = { copies: 0, scratch: 0, workers: 0 };

/** Bytes runReference will newly allocate for the problem (less what `held` it reuses). */
export function referenceBytes(p: Problem, precision: 'float32' | 'float64', threads: number, held: HeldMemory = NOTHING_HELD): number {
  const { T, H, I, topK: k } = p;
  const expected = 14 * T * H + 16 * T * k + 4 * T * H;
  if (precision === 'float64') return 16 * T * k * H + 12 * I * H + expected;
  const a = caseArrayBytes(p);
  const copies = sum(a) - a.logits! - (a.bias ?? 0) - a['per-expert vectors']!;
  const chunkT = Math.max(1, Math.min(T, Math.floor(SLOT_FLOATS / (k * H))));
  const scratch = 4 * T * H + 3 * 4 * chunkT * k * H + 3 * 4 * T * H + 2 * T * H + 8 * T;
  return Math.max(0, copies - held.copies) + Math.max(0, scratch - held.scratch) + expected +
    Math.max(0, threads - held.workers) * WORKER_BYTES;
}

/** "1.23 GiB" style. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${v.toPrecision(3)} ${units[i]}`;
}

/**
 * Refuse a problem whose case cannot be generated here: one array beyond Node's array limit,
 * or the generation estimate beyond the budget. `argument` names the problem in the error.
 */
export function checkGenerationFits(p: Problem, argument: string, budget: MemoryBudget = memoryBudget()): void {
  for (const [name, total] of Object.entries(caseArrayBytes(p))) {
    // A weight tensor is stored per expert: one expert's bytes must fit one array.
    const perExpert = PER_EXPERT.has(name);
    const bytes = perExpert ? total / p.localExperts : total;
    if (bytes > MAX_ARRAY_BYTES) {
      throw new BadArgumentError(argument, `a case whose ${name}${perExpert ? ' of one expert' : ''} fits in one typed array (at most ${formatBytes(MAX_ARRAY_BYTES)} in this Node)`,
        `${name}${perExpert ? ' of one expert' : ''} of ${formatBytes(bytes)} (T=${p.T}, H=${p.H}, I=${p.I}, E=${p.E}, localExperts=${p.localExperts})`);
    }
  }
  const need = generationBytes(p);
  if (need > budget.bytes) {
    throw new BadArgumentError(argument, `a case that fits in the memory available: at most ${formatBytes(budget.bytes)} (${budget.source})`,
      `an estimated ${formatBytes(need)} to generate (T=${p.T}, H=${p.H}, I=${p.I}, E=${p.E}, localExperts=${p.localExperts}; ` +
      'estimate in reference/resourceEstimate.ts, docs/install.md)');
  }
}

/** Refuse more fast-path workers than max(16, 4 × cores) (see the file comment). */
export function checkReferenceThreads(threads: number, cores: number = availableParallelism()): void {
  const most = maxReferenceThreads(cores);
  if (threads > most) {
    throw new BadArgumentError('opts.threads', `at most ${most} (max(16, 4 × ${cores} cores): more workers only time-share the cores)`, String(threads));
  }
}

/**
 * Refuse a reference run whose new allocations (estimate less `held`) exceed the budget, or
 * (float64) whose [T, k, H] float32 slot arrays exceed one typed array.
 */
export function checkReferenceFits(p: Problem, precision: 'float32' | 'float64', threads: number,
  held: HeldMemory = NOTHING_HELD, budget: MemoryBudget = memoryBudget()): void {
  if (precision === 'float64' && 4 * p.T * p.topK * p.H > MAX_ARRAY_BYTES) {
    throw new BadArgumentError('case size (float64 oracle)',
      `T·k·H ≤ ${MAX_ARRAY_BYTES / 4} (its [T, k, H] float32 slot arrays are single typed arrays of at most ${formatBytes(MAX_ARRAY_BYTES)}; ` +
      'the float32 reference works in token chunks and takes this case)',
      `T·k·H = ${p.T}·${p.topK}·${p.H} = ${p.T * p.topK * p.H} (${formatBytes(4 * p.T * p.topK * p.H)} per array)`);
  }
  const need = referenceBytes(p, precision, precision === 'float32' ? threads : 0, held);
  if (need > budget.bytes) {
    throw new BadArgumentError(precision === 'float32' ? 'opts.threads / case size' : 'case size (float64 oracle)',
      `a run that fits in the memory available: at most ${formatBytes(budget.bytes)} (${budget.source})`,
      `an estimated ${formatBytes(need)} for the ${precision} reference (T=${p.T}, H=${p.H}, I=${p.I}, ` +
      `localExperts=${p.localExperts}${precision === 'float32' ? `, ${threads} threads × ${formatBytes(WORKER_BYTES)}` : ''})`);
  }
}
