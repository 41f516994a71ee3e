/**
 * The Python package's own unit tests (adapters/python/tests: safetensors reader/writer,
 * number formats, routing, token grouping), run with python3 -m unittest. Same policy as
 * process.test.ts: python3 + numpy missing FAILS under CI=true or MOE_HARNESS_REQUIRE_PYTHON=1,
 * and is SKIPPED loudly otherwise.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { pythonAvailability } from './pythonAvailability.js';

const REQUIRE = process.env.CI === 'true' || process.env.MOE_HARNESS_REQUIRE_PYTHON === '1';
const py = pythonAvailability();

if (!py.numpy) {
  const why = `python3 with numpy is not available here (${py.detail})`;
  if (REQUIRE) test('adapters/python unit tests (python3 + numpy required)', (t) => t.fail(why));
  else {
    console.warn(`\n!! adapters/python unit tests SKIPPED: ${why}. On CI (CI=true) this is a failure.\n`);
    test.skip(`adapters/python unit tests — SKIPPED, ${why}`, () => undefined);
  }
} else {
  test('adapters/python unit tests pass (python3 -m unittest discover -s adapters/python/tests)', (t) => {
    const r = spawnSync(process.env.MOE_HARNESS_PYTHON ?? 'python3', ['-m', 'unittest', 'discover', '-s', 'adapters/python/tests', '-v'], { encoding: 'utf8', timeout: 120_000 });
    t.log(r.stderr.trim().split('\n').slice(-3).join('\n'));
    t.is(r.status, 0, r.stderr);
    t.regex(r.stderr, /Ran \d+ tests/);
  });
}
