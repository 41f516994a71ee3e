import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

// native/bench/read_pattern.cu (moe_read_pattern): config 3's weight reads alone, timed on a GPU
// host by the device plan. Here, without a GPU: its options. Built from the build tree npm ci
// configured (CUDA on where nvcc is); a CPU-only build has no such target, and says so.
const cache = 'native/build/CMakeCache.txt';
const cudaBuild = existsSync(cache) && /^MOE_CUDA:BOOL=ON$/m.test(readFileSync(cache, 'utf8'));
const exe = 'native/build/bench/moe_read_pattern';

if (!cudaBuild) console.warn(`readPattern.test.ts: skipped, ${cache} is not a CUDA build (no moe_read_pattern target)`);
(cudaBuild ? test : test.skip)('moe_read_pattern: a bad option exits 2 naming it, the expected and the actual value', (t) => {
  const b = spawnSync('cmake', ['--build', 'native/build', '--target', 'moe_read_pattern'], { encoding: 'utf8', timeout: 300_000 });
  t.is(b.status, 0, b.stdout + b.stderr);
  const cases: [string[], RegExp][] = [
    [['--mib', '10'], /--mib: expected an integer in \[64, 16384\], got 10/],
    [['--row-bytes', '100'], /--row-bytes: expected a multiple of 64 in \[64, 65536\] \(whole super-steps\), got 100/],
    [['--reps', '0'], /--reps: expected an integer in \[1, 100\], got 0/],
    [['--ctas-per-sm', '6'], /--ctas-per-sm: expected an integer in \[1, 5\].*got 6/],
    [['--mib'], /--mib: expected a value, got nothing/],
    [['--reps', 'x3'], /--reps: expected an integer in \[1, 100\], got x3/],
    [['--bogus'], /unknown option --bogus/],
  ];
  for (const [args, message] of cases) {
    const r = spawnSync(exe, args, { encoding: 'utf8', timeout: 30_000 });
    t.is(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr, message);
    t.regex(r.stderr, /usage: moe_read_pattern/);
  }
});
