import test from 'ava';
import { fc, testProp } from '@fast-check/ava';
import type { RoutingConfig } from '../problem.js';
import { routingMethod } from './registry.js';
import { routingInput } from './testing/fixtures.js';
import { runs } from '../../properties/runs.js';

/** The definition, brute force: lowest index with identical (logit bits, bias bits); -1 masked. */
function naiveClasses(logits: Float32Array, bias: Float32Array | null, E: number): number[] {
  const bits = (x: number): number => new Uint32Array(Float32Array.of(x).buffer)[0]!;
  const masked = (x: number): boolean => !(x === x && x !== Infinity && x !== -Infinity);
  const out: number[] = [];
  for (let i = 0; i < logits.length; i++) {
    const row = Math.floor(i / E) * E;
    const e = i - row;
    if (masked(logits[i]!)) {
      out.push(-1);
      continue;
    }
    let c = e;
    for (let b = 0; b < e; b++) {
      if (bits(logits[row + b]!) === bits(logits[i]!) && (bias === null || bits(bias[b]!) === bits(bias[e]!))) {
        c = b;
        break;
      }
    }
    out.push(c);
  }
  return out;
}

const POOL = [0, -0, 1, 1.5, -2, 0.25, NaN, Infinity, -Infinity, 3];

testProp('expert tie classes equal the brute-force definition (repeats, -0, masked values, bias)',
  [fc.integer({ min: 2, max: 40 }), fc.integer({ min: 1, max: 4 }), fc.boolean(), fc.integer({ min: 0, max: 2 ** 31 - 1 })],
  (t, E, T, withBias, seed) => {
    let s = seed;
    const next = (): number => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return s; };
    const logits = Float32Array.from({ length: T * E }, () => POOL[next() % POOL.length]!);
    const bias = withBias ? Float32Array.from({ length: E }, () => [0, 0.125, -0][next() % 3]!) : null;
    const config: RoutingConfig = withBias ? { method: 'deepseek_v3', nGroup: 1, topkGroup: 1, routedScalingFactor: 1 } : { method: 'topk' };
    const ev = routingMethod(config.method).route(routingInput(config, E, 1, logits, bias)).evidence;
    t.deepEqual(Array.from(ev.expertTieClass), naiveClasses(logits, bias, E));
  }, { numRuns: runs(200) });

test('group tie classes: identical input multisets (in any order) tie; equal scores from different inputs do not', (t) => {
  // Groups of 4 over E = 12, bias 0. g1 is g0 permuted; g2 has the same two largest logits
  // (so the same group score) but different other members: not an exact tie.
  const g0 = [2, 1, -1, 0.5];
  const logits = [...g0, 0.5, -1, 2, 1, 2, 1, -3, 0];
  const config: RoutingConfig = { method: 'deepseek_v3', nGroup: 3, topkGroup: 1, routedScalingFactor: 1 };
  const ev = routingMethod('deepseek_v3').route(routingInput(config, 12, 2, logits, new Array(12).fill(0))).evidence;
  t.is(ev.groups!.scores[0], ev.groups!.scores[2]);
  t.deepEqual(Array.from(ev.groups!.tieClass), [0, 0, 2]);
});
