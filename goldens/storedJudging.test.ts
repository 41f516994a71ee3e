/**
 * Goldens are judged from what they store: a changed stored bit must fail, and
 * a failure names the case, the tensor and the element.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EmulatedKernel } from '../harness/kernels/emulated.js';
import { f32ToBf16 } from '../reference/formats/bf16.js';
import { bitDifferences, describeElementDifference } from './diffTensors.js';
import { decodeExpected, decodeInputs, encodeExpected } from './goldenFiles.js';
import { flipsIn } from './flipSearch.js';
import { judgeGoldenOnKernel } from './judgeGolden.js';
import { GOLDENS_DIR, manifestEntry, readManifest } from './manifest.js';
import { goldenReference } from './produce.js';
import { readSafetensors } from './safetensors.js';

const entry = manifestEntry(readManifest(), 'ties');
const storedBytes = (): Uint8Array => new Uint8Array(readFileSync(join(GOLDENS_DIR, entry.files.expected.path)));
const golden = () => decodeInputs(entry.name, entry.spec, readFileSync(join(GOLDENS_DIR, entry.files.inputs.path)));

/** The bytes of tensor `name` inside `bytes` (a view: writing it changes `bytes`), from the header's data_offsets. */
function tensorBytes(bytes: Uint8Array, name: string): Uint8Array {
  const headerLen = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen))) as Record<string, { data_offsets: [number, number] }>;
  const [begin, end] = header[name]!.data_offsets;
  return bytes.subarray(8 + headerLen + begin, 8 + headerLen + end);
}

test('one flipped bit of a stored bf16 output fails, naming case, tensor and element', async (t) => {
  const bytes = storedBytes();
  tensorBytes(bytes, 'output')[2 * 3] ^= 0x01; // element 3, lowest mantissa bit
  // Decoding refuses an output that is not the bf16 rounding of the stored output_f32.
  t.throws(() => decodeExpected(entry.name, entry.spec, bytes), { message: /tensor output\[3\] \(token 0, h 3\): expected 0x[0-9a-f]{4}, the bf16 rounding of output_f32\[3\]/ });
  // The reproduction check names it too.
  const again = await goldenReference(golden(), entry.producer.precision);
  const diffs = bitDifferences(readSafetensors(bytes, 'flipped'), readSafetensors(encodeExpected(entry.name, again), 'recomputed'));
  t.deepEqual(diffs.map((d) => describeElementDifference(entry.name, d).replace(/: stored .*/, '')), ['case ties: tensor output element 3 (row 0)']);
});

test('a stored output changed consistently (output_f32 and its bf16) makes the judge reject the correct kernel', async (t) => {
  const c = golden();
  const stored = decodeExpected(entry.name, entry.spec, storedBytes());
  t.deepEqual((await judgeGoldenOnKernel(new EmulatedKernel(), { case: c, expected: stored })).failures, []);
  const H = entry.spec.problem.H;
  const i = 2 * H + 5;
  const outputF32 = Float32Array.from(stored.outputF32);
  const outputBf16 = Uint16Array.from(stored.outputBf16);
  outputF32[i] = Math.fround(outputF32[i]! * 1.5 + 1);
  outputBf16[i] = f32ToBf16(outputF32[i]!);
  const j = await judgeGoldenOnKernel(new EmulatedKernel(), { case: c, expected: { ...stored, outputF32, outputBf16 } });
  t.true(j.failures.length > 0);
  t.regex(j.failures[0]!, /out\[t=2,h=5\]=/);
});

test('every stored expected file decodes with its routing evidence (scores, tie classes; groups when grouped)', (t) => {
  for (const e of readManifest().cases) {
    const s = decodeExpected(e.name, e.spec, readFileSync(join(GOLDENS_DIR, e.files.expected.path)));
    const { T, E } = e.spec.problem;
    t.is(s.routing.evidence.scores.length, T * E, e.name);
    t.is(s.routing.evidence.expertTieClass.length, T * E, e.name);
    t.is(s.routing.evidence.groups !== null, (e.spec.problem.routing.nGroup ?? 1) > 1, e.name);
  }
});

test('the group-ties golden holds exact group ties, and the group fault fails on it', async (t) => {
  const ge = manifestEntry(readManifest(), 'group-ties');
  const stored = decodeExpected(ge.name, ge.spec, readFileSync(join(GOLDENS_DIR, ge.files.expected.path)));
  const cls = stored.routing.evidence.groups!.tieClass;
  t.true(cls.some((c, i) => c !== i % stored.routing.evidence.groups!.count), 'some group ties a lower one exactly');
  const c = decodeInputs(ge.name, ge.spec, readFileSync(join(GOLDENS_DIR, ge.files.inputs.path)));
  t.deepEqual((await judgeGoldenOnKernel(new EmulatedKernel(), { case: c, expected: stored })).failures, []);
  const j = await judgeGoldenOnKernel(new EmulatedKernel({ fault: 'group_ties_high_index' }), { case: c, expected: stored });
  t.true(j.failures.length > 0);
  t.regex(j.failures[0]!, /exact group tie/);
});

for (const name of ['flip-bf16', 'flip-bf16-llama4']) {
  test(`${name}: a real re-quantization flip (fragile FC2 inputs that valid FC1 orders flip), judged from stored data`, async (t) => {
    const e = manifestEntry(readManifest(), name);
    const stored = decodeExpected(e.name, e.spec, readFileSync(join(GOLDENS_DIR, e.files.expected.path)));
    t.true(stored.requant.fragileElements > 0);
    t.true(stored.flipAllowance.some((v) => v > 0));
    const c = decodeInputs(e.name, e.spec, readFileSync(join(GOLDENS_DIR, e.files.inputs.path)));
    const flips = flipsIn(c);
    t.true(Object.values(flips).some((n) => n > 0), `no valid order flips an FC2 input: ${JSON.stringify(flips)}`);
    t.log(`flips per FC1 order: ${JSON.stringify(flips)}; fragile elements ${stored.requant.fragileElements}`);
    t.deepEqual((await judgeGoldenOnKernel(new EmulatedKernel(), { case: c, expected: stored })).failures, []);
  });
}
