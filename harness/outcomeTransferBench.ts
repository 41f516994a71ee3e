/**
 * Micro-benchmark of one tactic outcome crossing from a child process to its parent, through
 * the 'advanced' IPC pipe (inline) and through a file on shared memory (outcomeTransfer.ts):
 * two runs of bf16 [T, H] plus ids and weights [T, 8], timed from the child's send (before
 * serializing or writing) to the parent's typed arrays (after deserializing or reading).
 * Prints one row per size with MB/s for each mode (best of `reps`).
 *
 *   npx tsx harness/outcomeTransferBench.ts [elements per run, comma-separated = 1M,8M,29M] [reps = 3]
 *
 * 29M elements ≈ DeepSeek-V3 at T = 4096 (T·H = 4096 · 7168).
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TacticOutcome } from './caseRunner.js';
import { makeTactic } from './kernels/provider.js';
import { createOutcomeDir, outcomeArrayBytes, receiveOutcome, removeOutcomeDir, sendableOutcome, type OutcomeTransfer } from './outcomeTransfer.js';
import { epochMs } from './phaseTimes.js';

type Mode = 'inline' | 'file';
interface Request { readonly elements: number; readonly mode: Mode; readonly dir: string; readonly seq: number }
interface Reply { readonly transfer: OutcomeTransfer; readonly sentAt: number }

const parseCount = (s: string): number => {
  const m = /^(\d+(?:\.\d+)?)([KM]?)$/i.exec(s.trim());
  if (!m) throw new Error(`outcomeTransferBench: element count: expected e.g. 8M or 1048576, got ${JSON.stringify(s)}`);
  return Math.round(Number(m[1]) * ({ '': 1, K: 2 ** 10, M: 2 ** 20 } as Record<string, number>)[m[2]!.toUpperCase()]!);
};

function outcome(elements: number): TacticOutcome {
  const tk = Math.max(1, Math.round(elements / 7168)) * 8;
  const one = (salt: number) => ({
    output: new Uint16Array(elements).map((_, i) => (i + salt) & 0xffff), ids: new Int32Array(tk).fill(salt),
    weights: new Float32Array(tk).fill(0.125), executedTactic: '8/0',
  });
  return { kind: 'ran', tactic: makeTactic(8, 0), runs: [one(1), one(2)], digests: ['a', 'a'], times: { runs: 0, digests: 0 } };
}

if (process.argv[2] === '--child') {
  const cache = new Map<number, TacticOutcome>();
  process.on('message', (raw) => {
    const r = raw as Request;
    if (!cache.has(r.elements)) { cache.clear(); cache.set(r.elements, outcome(r.elements)); }
    const o = cache.get(r.elements)!;
    const sentAt = epochMs();
    const transfer = r.mode === 'inline' ? { mode: 'inline' as const, outcome: o } : sendableOutcome(o, r.dir, r.seq, 0);
    process.send!({ transfer, sentAt } satisfies Reply);
  });
  process.on('disconnect', () => process.exit(0));
} else {
  const sizes = (process.argv[2] ?? '1M,8M,29M').split(',').map(parseCount);
  const reps = Number(process.argv[3] ?? 3);
  const child = fork(fileURLToPath(import.meta.url), ['--child'], { serialization: 'advanced', execArgv: process.execArgv });
  const dir = createOutcomeDir(child.pid!);
  let seq = 0;
  const once = (elements: number, mode: Mode): Promise<{ ms: number; bytes: number }> => new Promise((resolve) => {
    child.once('message', (raw) => {
      const r = raw as Reply;
      const o = receiveOutcome(r.transfer);
      resolve({ ms: epochMs() - r.sentAt, bytes: outcomeArrayBytes(o) });
    });
    child.send({ elements, mode, dir, seq: seq++ } satisfies Request);
  });
  console.log('elements/run  bytes/outcome  inline ms  inline MB/s  file ms  file MB/s  speed-up');
  for (const n of sizes) {
    const best: Record<Mode, number> = { inline: Infinity, file: Infinity };
    let bytes = 0;
    for (let i = 0; i < reps; i++) {
      for (const mode of ['inline', 'file'] as const) {
        const r = await once(n, mode);
        best[mode] = Math.min(best[mode], r.ms);
        bytes = r.bytes;
      }
    }
    const mbs = (ms: number): string => (bytes / 1e6 / (ms / 1e3)).toFixed(0);
    console.log(`${String(n).padStart(12)}  ${String(bytes).padStart(13)}  ${best.inline.toFixed(1).padStart(9)}  ${mbs(best.inline).padStart(11)}  ` +
      `${best.file.toFixed(1).padStart(7)}  ${mbs(best.file).padStart(9)}  ${(best.inline / best.file).toFixed(1).padStart(7)}x`);
  }
  child.disconnect();
  removeOutcomeDir(dir);
}
