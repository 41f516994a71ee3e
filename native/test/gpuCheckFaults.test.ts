import test from 'ava';
import { readFileSync } from 'node:fs';
import { FAULTS, FAULT_NAMES } from '../../harness/faults.js';

// moe_gpu_check_faults --faults runs each catalog fault on the native faults build and checks
// that it changes the result bitwise; its table must hold the whole catalog with its codes.
test('the driver\'s --faults table is the fault catalog (harness/faults.ts): every fault, its code, a case that exists', (t) => {
  const src = readFileSync(new URL('./gpu_check.cu', import.meta.url), 'utf8');
  const table = /const F faults\[\] = \{([\s\S]*?)\};/.exec(src);
  t.truthy(table, 'the faults table in gpu_check.cu');
  const rows = [...table![1]!.matchAll(/\{(\d+), "([a-z0-9_]+)", (\d+)\}/g)].map((m) => ({ code: Number(m[1]), name: m[2]!, caseIdx: Number(m[3]) }));
  t.deepEqual(rows.map((r) => r.name).sort(), [...FAULT_NAMES].sort());
  for (const r of rows) t.is(r.code, FAULTS[r.name as keyof typeof FAULTS].code, r.name);
  const body = src.slice(src.indexOf('int runFaults('), src.indexOf('const F faults[]'));
  const cases = (body.match(/cases\.push_back\(/g) ?? []).length;
  for (const r of rows) t.true(r.caseIdx < cases, `${r.name}: case ${r.caseIdx} of ${cases}`);
});
