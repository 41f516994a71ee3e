/**
 * Test helpers for harness suites: small cases with their oracle reference, and
 * Observed results made from a reference (what a perfect kernel would return).
 */
import type { Case, CaseSpec } from '../reference/case.js';
import type { Expected } from '../reference/expected.js';
import { generateCase } from '../reference/generate.js';
import { runOracle64 } from '../reference/oracle64.js';
import type { Problem } from '../reference/problem.js';
import { routingInputFromCase } from '../reference/routing/routingInput.js';
import type { RoutingInput } from '../reference/routing/types.js';
import { errorModel, type ErrorModel } from './errorModel.js';
import type { Observed } from './kernels/kernel.js';
import { testProblem } from '../reference/testing/testProblem.js';

export interface Fixture {
  readonly c: Case;
  readonly expected: Expected;
  readonly input: RoutingInput;
  readonly model: ErrorModel;
}

export function fixture(spec: Omit<Partial<CaseSpec>, 'problem'> & { problem?: Partial<Problem> } = {}): Fixture {
  const full: CaseSpec = { seed: 7, logitFamily: 'normal', scaleFamily: 'normal', ...spec, problem: testProblem(spec.problem) };
  const c = generateCase(full);
  const model = errorModel(full.problem);
  return { c, expected: runOracle64(c, { fc1RelativeError: model.fc1RelativeError }), input: routingInputFromCase(c), model };
}

/**
 * The reference's expert ids with token 0's second expert replaced by the lowest-scoring
 * expert of its row: a wrong expert choice, beyond any selection tolerance.
 */
export function wrongExpertIds(f: Fixture): Int32Array {
  const { E } = f.c.spec.problem;
  const ids = Int32Array.from(f.expected.routing.ids);
  const scores = f.expected.routing.selectionScores.subarray(0, E);
  let worst = 0;
  for (let e = 1; e < E; e++) if (scores[e]! < scores[worst]!) worst = e;
  ids[1] = worst;
  return ids;
}

/** What a perfect kernel returns: the reference's bf16 output, ids and weights (copies), echoing `tactic`. */
export function perfectObserved(e: Expected, tactic = '8/0'): Observed {
  return { output: Uint16Array.from(e.outputBf16), ids: Int32Array.from(e.routing.ids), weights: Float32Array.from(e.routing.weights), executedTactic: tactic };
}
