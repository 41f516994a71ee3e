/**
 * The fault catalog is the one source: the native side's enum (names and codes), its
 * range check and its fault switches are checked against harness/faults.ts by reading the
 * C++/CUDA sources (the faults build cannot run on a CPU machine, but its source can be read).
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FAULT_NAMES, FAULTS, MAX_FAULT_CODE } from './faults.js';
import { COUNTED_APART, DISCREPANCY_KINDS } from './verdict.js';

const NATIVE = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'native', 'src', 'cuda');
const read = (f: string): string => readFileSync(join(NATIVE, f), 'utf8');
const snake = (camel: string): string => camel.replace(/[A-Z]/g, (c, i: number) => (i === 0 ? c.toLowerCase() : `_${c.toLowerCase()}`));

/** The native enum FaultCode as name → code (kFaultNone and kFaultLast left out). */
function nativeEnum(): Map<string, number> {
  const src = read('common.cuh');
  const body = /enum FaultCode : int \{([\s\S]*?)\};/.exec(src);
  if (!body) throw new Error('native/src/cuda/common.cuh: enum FaultCode not found');
  const out = new Map<string, number>();
  for (const m of body[1]!.matchAll(/kFault(\w+) = (\d+),/g)) if (m[1] !== 'None') out.set(snake(m[1]!), Number(m[2]));
  return out;
}

test('every catalog fault has the same code in the native enum, and the native enum has no other fault', (t) => {
  const native = nativeEnum();
  for (const f of FAULT_NAMES) t.is(native.get(f), FAULTS[f].code as number, `${f}: native code ${native.get(f)}, catalog ${FAULTS[f].code}`);
  t.deepEqual([...native.keys()].sort(), [...FAULT_NAMES].sort());
  t.is(new Set(FAULT_NAMES.map((f) => FAULTS[f].code)).size, FAULT_NAMES.length, 'codes are distinct');
});

test('the native range check is [0, kFaultLast] with kFaultLast the largest catalog code', (t) => {
  const last = /kFaultLast = kFault(\w+),/.exec(read('common.cuh'));
  t.truthy(last, 'kFaultLast defined in common.cuh');
  const lastCode: number | undefined = FAULTS[snake(last![1]!) as keyof typeof FAULTS]?.code;
  t.is(lastCode, MAX_FAULT_CODE);
  t.regex(read('engine.cu'), /o\.fault < 0 \|\| o\.fault > kFaultLast/);
  // The binding's own check (CPU builds included) uses engine.h's kLastFaultCode.
  const src = (f: string): string => readFileSync(join(NATIVE, '..', f), 'utf8');
  t.is(Number(/constexpr int kLastFaultCode = (\d+);/.exec(src('engine.h'))?.[1]), MAX_FAULT_CODE);
  t.regex(src('binding.cc'), /fault < 0 \|\| fault > kLastFaultCode/);
  t.regex(read('engine.cu'), /static_assert\(int\(kFaultLast\) == kLastFaultCode/);
});

test('every catalog fault is switched somewhere in the native kernels', (t) => {
  const sources = ['kernels.cu', 'gemm.cuh', 'engine.cu'].map(read).join('\n');
  for (const f of FAULT_NAMES) {
    const camel = f.replace(/(^|_)([a-z])/g, (_m, _u, c: string) => c.toUpperCase());
    t.regex(sources, new RegExp(`FAULT\\([^)]*kFault${camel}\\)`), `${f}: no FAULT(…, kFault${camel}) in native/src/cuda`);
  }
});

test('every catalog entry names an effect, a scenario and the finding kinds it must produce', (t) => {
  const kinds = new Set<string>([...DISCREPANCY_KINDS.filter((k) => !COUNTED_APART.includes(k)), 'flip_budget', 'malformed', 'refused', 'crash']);
  for (const f of FAULT_NAMES) {
    const s = FAULTS[f];
    t.true(s.effect.length > 0 && s.scenario.length > 0, f);
    t.true(s.finding.length > 0 && s.finding.every((k) => kinds.has(k)), `${f}: ${s.finding.join(', ')}`);
  }
});
