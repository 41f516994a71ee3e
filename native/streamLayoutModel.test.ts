import test from 'ava';
import { spawnSync } from 'node:child_process';

// native/bench/stream_layout_model.py is the CPU model of the GPU kernels' index math that no CPU
// test reaches otherwise: config 3's prepared K order, prmt tables and mma fragment layout (one tile
// against W·xᵀ for several K), configs 4/5's dequantized tile in natural K order under both the
// old and the half-row mapping, the half-row mapping's shared-memory wavefronts at the minimum
// (4 read, 16 written), and config 3's prefetch schedule (main's 4-step body, the 2-step bodies
// with and without predicates) over every split: each super-step computed once from its own K
// steps, anything else computed adds zeros; the prepared weights' 16-row interleaved layout (the
// repack's offsets and config 3's clamped per-lane reads against the layout's definition, and
// native/src/cuda/weight_layout.cuh itself, built for the host, against the model). It asserts;
// this runs it on every CI machine.
test('the stream/smemdq layout model holds (prepared K order, fragment layout, half-row mapping, wavefronts, prefetch schedule)', (t) => {
  const python = process.env.MOE_HARNESS_PYTHON ?? 'python3';
  const r = spawnSync(python, ['native/bench/stream_layout_model.py'], { encoding: 'utf8', timeout: 60_000 });
  t.is(r.error, undefined, `could not run ${python}: ${r.error?.message}`);
  t.is(r.status, 0, `stream_layout_model.py failed:\n${r.stdout}\n${r.stderr}`);
  for (const line of ['prmt table ok', 'smemdq dequantized tile in natural K order: ok', 'smemdq half-row mapping: the same tile: ok',
    'schedule U=4 PF=4 predicated: ok', 'schedule U=2 PF=4 predicated: ok', 'schedule U=2 PF=4 unpredicated: ok',
    'prepared layout (16-row interleaved): repack offsets, clamped per-lane reads, scale words, 2 x 512-byte warp spans: ok'])
    t.true(r.stdout.includes(line), `missing "${line}" in:\n${r.stdout}`);
  t.regex(r.stdout, /weight_layout\.cuh \(built for the host\) agrees with the model at \d+ points: ok/);
  const relErr = [...r.stdout.matchAll(/K=(\d+) BT=(\d+): max rel err ([0-9.e+-]+)/g)];
  t.true(relErr.length >= 6, `expected the fragment-layout check at ≥ 6 (K, BT) shapes, got ${relErr.length}`);
  // float64 sums of exact products in two orders: rounding only (≤ K · 2^-52 relative)
  for (const [, K, BT, e] of relErr) t.true(Number(e) <= Number(K) * 2 ** -52, `K=${K} BT=${BT}: ${e}`);
});
