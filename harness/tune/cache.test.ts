import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configProblem } from '../../reference/configs.js';
import type { Problem } from '../../reference/problem.js';
import { environmentMismatches, problemSignature, readTuneCache } from './cache.js';
import type { TuneEnvironment } from './environment.js';
import { testProblem } from '../../reference/testing/testProblem.js';

test('the problem signature changes with every field that changes the answer, not with T or the name', (t) => {
  const base = testProblem({ T: 4, H: 128 });
  const sig = problemSignature(base);
  t.is(problemSignature({ ...base, T: 4096 }), sig);
  t.is(problemSignature({ ...base, name: 'x' }), sig);
  const variants: Array<Partial<Problem>> = [
    { H: 256 }, { I: 128 }, { E: 16, localExperts: 16 }, { topK: 3 }, { localOffset: 4, localExperts: 4 },
    { routing: { method: 'renormalize_naive' } }, { logitsDtype: 'bfloat16' }, { quantMode: 'mxfp4_mxfp8' },
    { activation: { kind: 'swiglu_clamped', alpha: 1.702, beta: 1, limit: 7 } },
  ];
  const seen = new Set([sig]);
  for (const v of variants) {
    const s = problemSignature({ ...base, ...v });
    t.false(seen.has(s), JSON.stringify(v));
    seen.add(s);
  }
  const ds = configProblem('deepseek-v3', 1);
  t.not(problemSignature(ds), problemSignature({ ...ds, routing: { ...ds.routing, routedScalingFactor: 1 } }));
  t.not(problemSignature(ds), problemSignature({ ...ds, biasDtype: 'bfloat16' }));
  // key order does not matter
  t.is(problemSignature({ ...base, routing: { method: 'renormalize' } }), problemSignature(JSON.parse(JSON.stringify(base)) as Problem));
});

test('environment mismatches name every differing field', (t) => {
  const a: TuneEnvironment = { device: 'NVIDIA H100 80GB HBM3 (sm_90)', smCount: 132, driver: '550.54', kernel: 'native', kernelBuild: 'addon:release', harnessVersion: 'moe-harness@0.1.0/tuner@1' };
  t.deepEqual(environmentMismatches(a, a), []);
  t.deepEqual(environmentMismatches(a, { ...a, device: 'NVIDIA H200 (sm_90)', smCount: 132, harnessVersion: 'moe-harness@0.2.0/tuner@1' }), [
    'device: cached "NVIDIA H100 80GB HBM3 (sm_90)", now "NVIDIA H200 (sm_90)"',
    'harnessVersion: cached "moe-harness@0.1.0/tuner@1", now "moe-harness@0.2.0/tuner@1"',
  ]);
});

test('a malformed cache file is refused naming --cache, the expectation and the file', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tunecache-'));
  const f = (name: string, text: string): string => { const p = join(dir, name); writeFileSync(p, text); return p; };
  t.throws(() => readTuneCache(join(dir, 'absent.json')), { name: 'BadArgumentError', message: /^--cache: expected a readable JSON tune cache file/ });
  t.throws(() => readTuneCache(f('a.json', '{"format":"other"}')), { name: 'BadArgumentError', message: /expected a file with "format": "moe-harness-tune-cache"/ });
  t.throws(() => readTuneCache(f('b.json', '{"format":"moe-harness-tune-cache","formatVersion":0}')), { name: 'BadArgumentError', message: /formatVersion 1/ });
  t.throws(() => readTuneCache(f('c.json', '{"format":"moe-harness-tune-cache","formatVersion":1,"environment":{"device":"cpu"},"problems":{}}')), { name: 'BadArgumentError', message: /environment.smCount/ });
});
