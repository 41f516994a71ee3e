import test from 'ava';
import { Progress, progressText } from './progress.js';

test('the progress line counts cases, then records, each in its own unit', (t) => {
  t.is(progressText(3, 24, { passed: 20, failed: 0 }, 4.2), 'cases 3/24 · records 20 passed · 0 not passed · 4s');
  t.is(progressText(1, 1, { passed: 0, failed: 7 }, 0), 'cases 1/1 · records 0 passed · 7 not passed · 0s');
});

test('without a TTY: one line per tenth and the last one', (t) => {
  const lines: string[] = [];
  const stream = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
  const p = new Progress(20, stream);
  for (let i = 0; i <= 20; i++) p.update(i, '', { passed: i, failed: 0 });
  p.finish();
  t.is(lines.length, 11);
  t.regex(lines[lines.length - 1]!, /^moe-harness: cases 20\/20 · records 20 passed · 0 not passed · \d+s\n$/);
});
