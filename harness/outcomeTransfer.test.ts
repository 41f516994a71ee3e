/**
 * Outcomes crossing from the child process by file (outcomeTransfer.ts): bit-identical, the
 * files gone afterwards, partial or foreign files refused (never half-read), stale folders
 * swept, and through a real child (ChildRunner) with a death drill that leaves nothing behind.
 */
import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { generateCase } from '../reference/generate.js';
import { testProblem } from '../reference/testing/testProblem.js';
import type { TacticOutcome } from './caseRunner.js';
import { ChildRunner } from './childRunner.js';
import { makeTactic, type Observed } from './kernels/provider.js';
import {
  DEFAULT_INLINE_BYTES, OUTCOME_DIR_PREFIX, OutcomeTransferError, createOutcomeDir, outcomeBaseDir, receiveOutcome,
  removeOutcomeDir, sendableOutcome, sweepStaleOutcomeDirs, type OutcomeTransfer,
} from './outcomeTransfer.js';

/** A run with distinct, position-dependent bits everywhere (odd lengths: padding is exercised). */
function run(elements: number, tk: number, salt: number): Observed {
  const output = new Uint16Array(elements);
  for (let i = 0; i < elements; i++) output[i] = (i * 2654435761 + salt) >>> 16;
  const ids = new Int32Array(tk).map((_, i) => (i * 7 + salt) % 256 - 3);
  const weights = new Float32Array(tk).map((_, i) => Math.sin(i + salt));
  return { output, ids, weights, ms: 1.5 + salt, executedTactic: '8/0' };
}

function ran(elements: number, tk: number): Extract<TacticOutcome, { kind: 'ran' }> {
  return { kind: 'ran', tactic: makeTactic(8, 0), runs: [run(elements, tk, 1), run(elements, tk, 2)], digests: ['a', 'b'], times: { runs: 3, digests: 1 } };
}

/** The transfer as the IPC channel delivers it (the 'advanced' serialization is v8's). */
const overIpc = (t: OutcomeTransfer): OutcomeTransfer => deserialize(serialize(t)) as OutcomeTransfer;

const bytesOf = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** timings 'ignore': two separate runs (their measured ms and times differ). */
function sameBits(t: import('ava').ExecutionContext, got: TacticOutcome, want: Extract<TacticOutcome, { kind: 'ran' }>, timings: 'compare' | 'ignore' = 'compare'): void {
  t.is(got.kind, 'ran');
  if (got.kind !== 'ran') return;
  t.deepEqual(got.tactic, want.tactic);
  t.deepEqual(got.digests, want.digests);
  if (timings === 'compare') t.deepEqual(got.times, want.times);
  t.is(got.runs.length, want.runs.length);
  got.runs.forEach((r, i) => {
    const w = want.runs[i]!;
    t.true(r.output instanceof Uint16Array && r.ids instanceof Int32Array && r.weights instanceof Float32Array);
    for (const f of ['output', 'ids', 'weights'] as const) t.true(bytesOf(r[f]).equals(bytesOf(w[f])), `run ${i} ${f}`);
    if (timings === 'compare') t.is(r.ms, w.ms);
    t.is(r.executedTactic, w.executedTactic);
  });
}

const scratch = (): string => mkdtempSync(join(tmpdir(), 'moe-outcome-test-'));
/** Runs `body` on a fresh scratch folder and removes the folder after, whatever happens. */
function withScratch(body: (dir: string) => void): void {
  const dir = scratch();
  try {
    body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a large outcome (T·H = 8 M elements per run) crosses by one file, bit-identical, and the file is gone after', (t) => {
  withScratch((dir) => {
    const o = ran(8 * 2 ** 20 + 3, 8 * 4097);
    const sent = sendableOutcome(o, dir, 0);
    t.is(sent.mode, 'file');
    if (sent.mode !== 'file') return;
    t.deepEqual(readdirSync(dir), ['outcome-0.bin']);
    // Only descriptors travel: the message is tiny against 32 MiB of arrays.
    const bytes = serialize(sent).byteLength;
    t.true(bytes < 4096, `message of ${bytes} bytes`);
    t.true(sent.byteLength >= 2 * (2 * (8 * 2 ** 20 + 3) + 8 * 8 * 4097));
    const got = receiveOutcome(overIpc(sent));
    sameBits(t, got, o);
    // Views on one buffer, no copies per array.
    if (got.kind === 'ran') t.true(got.runs.every((r) => r.output.buffer === got.runs[0].output.buffer && r.weights.buffer === r.output.buffer));
    t.deepEqual(readdirSync(dir), []);
  });
});

test('small outcomes, crashed ones and a child without a folder stay inline', (t) => {
  withScratch((dir) => {
    const small = ran(100, 16);
    t.is(sendableOutcome(small, dir, 0).mode, 'inline');
    t.is(sendableOutcome(ran(DEFAULT_INLINE_BYTES, 16), undefined, 1).mode, 'inline');
    t.is(sendableOutcome({ kind: 'crashed', tactic: makeTactic(8, 0), message: 'x' }, dir, 2, 0).mode, 'inline');
    t.deepEqual(readdirSync(dir), []);
    // inlineBytes 0: every ran outcome by file, even an empty-array one (violations).
    const empty: TacticOutcome = { kind: 'ran', tactic: makeTactic(8, 0), digests: ['a', 'a'], runs: [
      { output: new Uint16Array(0), ids: new Int32Array(0), weights: new Float32Array(0), executedTactic: '8/0', violations: ['k returned nothing'] },
      { output: new Uint16Array(3), ids: new Int32Array(1), weights: new Float32Array(1), executedTactic: '8/0' },
    ] };
    const sent = sendableOutcome(empty, dir, 3, 0);
    t.is(sent.mode, 'file');
    const got = receiveOutcome(overIpc(sent));
    t.is(got.kind === 'ran' ? got.runs[0].violations?.[0] : undefined, 'k returned nothing');
    t.is(got.kind === 'ran' ? got.runs[1].output.length : -1, 3);
    t.deepEqual(readdirSync(dir), []);
  });
});

test('a truncated, missing or mis-described file is refused (never half-read) and unlinked', (t) => {
  withScratch((dir) => {
    const o = ran(2 ** 20, 64);
    const a = sendableOutcome(o, dir, 0);
    if (a.mode !== 'file') return t.fail('expected a file');
    truncateSync(a.path, a.byteLength - 8);
    t.throws(() => receiveOutcome(a), { instanceOf: OutcomeTransferError, message: /expected \d+ bytes, found \d+/ });
    t.false(existsSync(a.path));
    t.throws(() => receiveOutcome(a), { instanceOf: OutcomeTransferError, message: /could not be read/ });
    const b = sendableOutcome(o, dir, 1);
    if (b.mode !== 'file') return t.fail('expected a file');
    const bad = { ...b, outcome: { ...b.outcome, runs: [{ ...b.outcome.runs[0]!, ids: { ...b.outcome.runs[0]!.ids, length: 2 ** 30 } }, b.outcome.runs[1]!] } } as OutcomeTransfer;
    t.throws(() => receiveOutcome(bad), { instanceOf: OutcomeTransferError, message: /run 0, ids: expected an 8-aligned slot inside/ });
    const c = sendableOutcome(o, dir, 2);
    if (c.mode !== 'file') return t.fail('expected a file');
    const wrongType = { ...c, outcome: { ...c.outcome, runs: [{ ...c.outcome.runs[0]!, output: { ...c.outcome.runs[0]!.output, dtype: 'float32' } }, c.outcome.runs[1]!] } } as OutcomeTransfer;
    t.throws(() => receiveOutcome(wrongType), { instanceOf: OutcomeTransferError, message: /run 0, output: expected dtype uint16, got float32/ });
    t.deepEqual(readdirSync(dir), []);
  });
});

test('folders of a campaign process that is gone are swept; live ones are kept', (t) => {
  const base = scratch();
  try {
    // A pid above the kernel's pid_max (at most 2^22) belongs to no process.
    const stale = join(base, `${OUTCOME_DIR_PREFIX}${2 ** 22 + 17}-5`);
    mkdirSync(stale);
    writeFileSync(join(stale, 'outcome-0.tmp'), 'partial');
    const mine = createOutcomeDir(123456, base);
    t.deepEqual(readdirSync(base).sort(), [`${OUTCOME_DIR_PREFIX}${process.pid}-123456`]);
    t.deepEqual(sweepStaleOutcomeDirs(base), []);
    removeOutcomeDir(mine);
    t.deepEqual(readdirSync(base), []);
    t.true(['/dev/shm', tmpdir()].includes(outcomeBaseDir()));
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

/** This process's children's outcome folders on shared memory. */
const myFolders = (): string[] => readdirSync(outcomeBaseDir()).filter((n) => n.startsWith(`${OUTCOME_DIR_PREFIX}${process.pid}-`));

const p = testProblem({ T: 37, H: 64, I: 64, E: 4, localExperts: 4, topK: 2 });
const c = generateCase({ problem: p, seed: 5, logitFamily: 'normal', scaleFamily: 'normal' });

test.serial('through a child process: outcomes by file equal those inline, bit for bit, and no file is left', async (t) => {
  const byFile = new ChildRunner({ kind: 'emulated' }, { inlineBytes: 0 });
  const inline = new ChildRunner({ kind: 'emulated' }, { inlineBytes: Number.MAX_SAFE_INTEGER });
  try {
    const a = await byFile.runCase(c, undefined);
    t.is(myFolders().length, 1, 'the live child has its folder');
    const folder = join(outcomeBaseDir(), myFolders()[0]!);
    t.deepEqual(readdirSync(folder), [], 'every outcome file read and unlinked');
    // What a child killed mid-write leaves: a .tmp no message names. It goes with the folder.
    writeFileSync(join(folder, 'outcome-99.tmp'), new Uint8Array(4096));
    const b = await inline.runCase(c, undefined);
    if (a.kind !== 'ran' || b.kind !== 'ran') return t.fail(`${a.kind} / ${b.kind}`);
    t.true(a.outcomes.length > 1);
    t.is(a.outcomes.length, b.outcomes.length);
    a.outcomes.forEach((o, i) => {
      const w = b.outcomes[i]!;
      if (w.kind !== 'ran') return t.fail(`inline ${w.tactic.label}: ${w.kind}`);
      sameBits(t, o, w, 'ignore');
      if (o.kind === 'ran') {
        t.is(o.times?.trafficBytes, 2 * (2 * p.T * p.H + 8 * p.T * p.topK));
        t.true(o.times!.traffic! >= 0);
      }
    });
  } finally {
    await byFile.close();
    await inline.close();
  }
  await new Promise((r) => setTimeout(r, 200));
  t.deepEqual(myFolders(), [], 'folders removed once the children exited');
});

test.serial('death drill: a child that dies on a tactic (and is restarted) leaves no outcome file or folder', async (t) => {
  const victim = '16/0';
  const runner = new ChildRunner({ kind: 'emulated', crashTactic: victim }, { inlineBytes: 0 });
  try {
    const r = await runner.runCase(c, undefined);
    if (r.kind !== 'ran') return t.fail(r.kind);
    const crashed = r.outcomes.filter((o) => o.kind === 'crashed');
    t.deepEqual(crashed.map((o) => o.tactic.label), [victim]);
    t.true(r.outcomes.filter((o) => o.kind === 'ran').length >= 2, 'the others ran, before and after the death');
    t.true(runner.starts >= 2);
  } finally {
    await runner.close();
  }
  await new Promise((res) => setTimeout(res, 200));
  t.deepEqual(myFolders(), []);
});
