import test from 'ava';
import { BadArgumentError } from '../../reference/errors.js';
import { parseBenchOptions } from './benchKernel.js';
import { buildTable, formatTable, median, type KernelRound, type TorchRound } from './benchTable.js';

function kernelRound(scale: number): KernelRound {
  const tactic = (label: string, ms: number) => ({
    label, config: Number(label.split('/')[1]), tileTokens: Number(label.split('/')[0]), configName: 'c', ms: [ms], medianMs: ms, relL2VsFirst: 0, unwritten: false,
  });
  return {
    device: 'NVIDIA H100 80GB HBM3', multiProcessors: 132, build: 'CUDA build for sm_90a', reps: 5,
    copy: { what: 'cudaMemcpyAsync', bytes: 2 ** 32, before: { medianMs: 1, gbps: 3000 * scale }, after: { medianMs: 1, gbps: 3000 } },
    rows: [
      {
        config: 'deepseek-v3', T: 1, E: 256, k: 8, H: 7168, I: 2048, quant: 'nvfp4', expertsTouched: 8,
        weightBytes: 1e9, flops: 6e9, defaultTactic: '8/2', defaultReason: 'r', problems: [],
        tactics: [tactic('8/0', 1.0 * scale), tactic('8/2', 0.5 * scale)],
      },
      {
        config: 'deepseek-v3', T: 4096, E: 256, k: 8, H: 7168, I: 2048, quant: 'nvfp4', expertsTouched: 256,
        weightBytes: 3e9, flops: 3e12, defaultTactic: '8/0', defaultReason: 'r', problems: [],
        tactics: [tactic('8/0', 20), tactic('128/0', 10)],
      },
    ],
  };
}

const torchRound = (ms1: number): TorchRound => ({
  device: 'x', torch: '2.11', copyBefore: { medianMs: 1, gbps: 2900 }, copyAfter: { medianMs: 1, gbps: 2950 },
  rows: [
    { config: 'deepseek-v3', T: 1, medianMs: ms1, graphMedianMs: ms1 / 2, sameExperts: 1, finite: true },
    { config: 'deepseek-v3', T: 4096, medianMs: 12, sameExperts: 0.5, finite: true },
  ],
});

test('median: odd, even, and no values', (t) => {
  t.is(median([3, 1, 2]), 2);
  t.is(median([4, 1, 2, 3]), 2.5);
  t.throws(() => median([]));
});

test('buildTable: medians over rounds, best, default excess, bandwidth, ratios and targets', (t) => {
  const table = buildTable([kernelRound(1), kernelRound(1.2), kernelRound(0.9)], [torchRound(0.7), torchRound(0.9), torchRound(0.8)]);
  t.is(table.copyGBps, 3000);
  t.is(table.copyGBpsTorch, 2925);
  const [r1, r2] = table.rows;
  t.is(r1!.best.label, '8/2');
  t.is(r1!.best.ms, 0.5);
  t.is(r1!.default.label, '8/2');
  t.is(r1!.default.overBest, 0);
  t.is(r1!.weightGBps, 1e9 / 0.5e-3 / 1e9);
  t.is(r1!.copyFraction, 2000 / 3000);
  t.is(r1!.torchMs, 0.8);
  t.is(r1!.speedupVsTorch, 1.6);
  t.is(r1!.torchGraphMs, 0.4);
  t.is(r2!.torchGraphMs, null);
  t.is(r2!.best.label, '128/0');
  t.is(r2!.default.overBest, 1);
  t.is(r2!.tflops, 3e12 / 10e-3 / 1e12);
  t.is(r2!.torchSameExperts, 0.5);
  const missed = table.targets.filter((x) => !x.met).map((x) => `${x.T}:${x.what}`);
  t.deepEqual(missed, ['1:≥ 3× faster than PyTorch bf16', '4096:≥ 1.5× faster than PyTorch bf16', '4096:default within 10% of best']);
  t.true(table.targets.some((x) => x.T === 1 && x.what.startsWith('weight bytes/s') && x.met));
  const md = formatTable(table);
  t.regex(md, /\| deepseek-v3 \| 1 \| 8 \| 8\/2 \| 0\.500 \|.*\| 0\.400 \| 0\.80× \|$/m);
  t.regex(md, /MISSED deepseek-v3 T=4096: default within 10% of best: measured 2\.000, required 1\.10/);
  t.regex(md, /torch chose the same experts on 50\.0% of tokens/);
});

test('buildTable: without the baseline the torch columns are n/a and its targets are absent', (t) => {
  const table = buildTable([kernelRound(1)], []);
  t.is(table.rows[0]!.torchMs, null);
  t.false(table.targets.some((x) => x.what.includes('PyTorch')));
  t.regex(formatTable(table), /\| n\/a \| n\/a \| n\/a \| n\/a \|/);
});

test('buildTable: a tactic missing from one round is an error naming it', (t) => {
  const b = kernelRound(1);
  b.rows[0]!.tactics.pop();
  t.throws(() => buildTable([kernelRound(1), b], []), { message: /tactic 8\/2 of row deepseek-v3@1/ });
});

test('parseBenchOptions: defaults, values, and bad options named', (t) => {
  t.is(parseBenchOptions([]).rounds, 3);
  const o = parseBenchOptions(['--rounds=2', '--reps=9', '--torch=skip', '--T=1,8', '--copy-mib=512']);
  t.deepEqual([o.rounds, o.reps, o.torch, o.T, o.copyMib], [2, 9, 'skip', '1,8', 512]);
  for (const [arg, name] of [['--rounds=0', '--rounds'], ['--reps=x', '--reps'], ['--torch=maybe', '--torch'], ['--T=1;rm', '--T'], ['--nope=1', 'option'], ['rounds', 'argument']] as const) {
    const e = t.throws(() => parseBenchOptions([arg]), { instanceOf: BadArgumentError });
    t.is(e!.argument, name, arg);
  }
});
