/**
 * Run every tactic a kernel enumerates on one golden case (its stored inputs) and judge
 * each with the harness's one judge (harness/judge.ts) against what the golden STORES:
 * outputs, routing and routing evidence, absAccum, flipAllowance and fragile tokens
 * (produced by the float64 oracle with the harness's FC1 error window). Only a kernel
 * choosing another expert set than the stored one needs a recomputation: the reference
 * for the kernel's ids (float64, same window), the judge's one round trip.
 * Used by goldens/gpu.test.ts on the native kernel and, cheaply, on the emulated kernel
 * to prove the judging path itself.
 */
import { executeTactic, POISON } from '../harness/caseRunner.js';
import { errorModel } from '../harness/errorModel.js';
import { judge } from '../harness/judge.js';
import type { KernelUnderTest } from '../harness/kernels/kernel.js';
import type { Case } from '../reference/case.js';
import type { Expected } from '../reference/expected.js';
import { runReference } from '../reference/moe.js';
import type { StoredExpected } from './expectedTensors.js';

export interface GoldenJudgement {
  /** Labels of the tactics the kernel enumerated (empty: the kernel does not support the case). */
  readonly tactics: readonly string[];
  /** One line (or a few) per tactic that did not pass; empty when all passed. */
  readonly failures: readonly string[];
  /** Elements judged as explained by a re-quantization flip, over all tactics. */
  readonly flipExplained: number;
}

/** A stored golden as the judge's Expected (the problem from the manifest's spec). */
function storedAsExpected(c: Case, stored: StoredExpected): Expected {
  return { ...stored, problem: c.spec.problem };
}

/**
 * Judge every tactic of `kernel` on the golden `g`. An enumerated tactic that refuses,
 * crashes or disagrees is a failure; prepare refusing a problem with tactics is thrown (SPEC §5).
 */
export async function judgeGoldenOnKernel<H>(kernel: KernelUnderTest<H>, g: { readonly case: Case; readonly expected: StoredExpected }): Promise<GoldenJudgement> {
  const c = g.case;
  const p = c.spec.problem;
  const tactics = (await kernel.tactics(p)).tactics;
  if (tactics.length === 0) return { tactics: [], failures: [], flipExplained: 0 };
  const model = errorModel(p);
  const expected = storedAsExpected(c, g.expected);
  const referenceForIds = (forcedIds: Int32Array): Promise<Expected> =>
    runReference(c, { precision: 'float64', fc1RelativeError: model.fc1RelativeError, forcedIds });
  const handle = await kernel.prepare(c);
  const failures: string[] = [];
  let flipExplained = 0;
  try {
    for (const tactic of tactics) {
      const o = await executeTactic(kernel, handle, tactic);
      if (o.kind !== 'ran') {
        failures.push(`tactic ${tactic.label}: ${o.kind}: ${o.message}`);
        if (o.fatal) break; // a CUDA fault ends the context: later tactics would only repeat it
        continue;
      }
      const v = await judge({
        kernel: kernel.name, expected, runs: o.runs, poison: POISON, digests: o.digests, model, referenceForIds,
        context: { tactic: tactic.label, seed: c.spec.seed },
      });
      flipExplained += v.counts.flip_explained;
      if (v.disposition !== 'passed') failures.push(`tactic ${tactic.label}: ${v.disposition}\n    ${v.lines.slice(0, 6).join('\n    ')}`);
    }
  } finally {
    await kernel.release(handle);
  }
  return { tactics: tactics.map((t) => t.label), failures, flipExplained };
}
