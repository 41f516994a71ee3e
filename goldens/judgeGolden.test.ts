/**
 * The GPU suite's judging path (judgeGolden.ts), proven on the emulated kernel without a
 * GPU: a correct kernel passes every tactic of every golden case, a faulty one fails.
 */
import test from 'ava';
import { EmulatedKernel } from '../harness/kernels/emulated.js';
import { loadGoldenCase } from './goldenFiles.js';
import { judgeGoldenOnKernel } from './judgeGolden.js';
import { manifestEntry, readManifest } from './manifest.js';

const manifest = readManifest();
const golden = (name: string) => loadGoldenCase(manifestEntry(manifest, name));

for (const e of manifest.cases) {
  test(`${e.name}: the emulated kernel passes every tactic`, async (t) => {
    const j = await judgeGoldenOnKernel(new EmulatedKernel(), golden(e.name));
    t.true(j.tactics.length > 0);
    t.deepEqual(j.failures, [], j.failures.join('\n'));
  });
}

test('faulty emulated kernels fail on the goldens that target them', async (t) => {
  for (const [fault, name] of [['ties_high_index', 'ties'], ['ep_offset_off_by_one', 'ep-slice'], ['gate_up_swapped', 'clamped-nvfp4']] as const) {
    const j = await judgeGoldenOnKernel(new EmulatedKernel({ fault }), golden(name));
    t.true(j.failures.length > 0, `${fault} on ${name} went unnoticed`);
  }
});
