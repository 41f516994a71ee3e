import test from 'ava';
import { observedViolations } from './observedViolations.js';
import { makeTactic, type Observed } from './provider.js';

const run = (executedTactic: string, violations?: string[]): Observed => ({
  output: new Uint16Array(0), ids: new Int32Array(0), weights: new Float32Array(0), executedTactic, ...(violations ? { violations } : {}),
});

test('a run that echoes the forced tactic and reports no violation has none', (t) => {
  t.deepEqual(observedViolations('k', makeTactic(8, 1), [run('8/1'), run('8/1')]), []);
});

test('a run that reports another tactic (a fallback) is a violation naming the kernel, both tactics and the run', (t) => {
  const v = observedViolations('mykernel', makeTactic(8, 1), [run('8/1'), run('16/0')]);
  t.is(v.length, 1);
  t.regex(v[0]!, /^run 2: kernel mykernel was forced to tactic 8\/1 but reports executing "16\/0"/);
});

test('a missing echo and provider-seen violations are reported per run', (t) => {
  const v = observedViolations('k', makeTactic(8, 1), [run('', ['adapter k returned output as F32[2, 4], expected BF16[2, 4]']), run('8/1')]);
  t.deepEqual(v.map((x) => x.slice(0, 6)), ['run 1:', 'run 1:']);
  t.regex(v.join('\n'), /returned output as F32/);
  t.regex(v.join('\n'), /reports executing ""/);
});
