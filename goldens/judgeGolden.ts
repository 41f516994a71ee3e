/**
 * Run every tactic a kernel enumerates on one golden case (its stored inputs) and judge
 * each with the harness's comparator against the reference (float64 oracle, FC1 error
 * window from the harness's error model). Used by goldens/gpu.test.ts on the native
 * kernel and, cheaply, on the emulated kernel to prove the judging path itself.
 */
import { executeTactic, POISON } from '../harness/caseRunner.js';
import { compare } from '../harness/compare.js';
import { errorModel } from '../harness/errorModel.js';
import { observedViolations } from '../harness/kernels/observedViolations.js';
import type { KernelUnderTest } from '../harness/kernels/kernel.js';
import { forcedIdsFor, judgeSelection } from '../harness/routingJudge.js';
import type { Case } from '../reference/case.js';
import { runReference } from '../reference/moe.js';
import { routingInputFromCase } from '../reference/routing/routingInput.js';

export interface GoldenJudgement {
  /** Labels of the tactics the kernel enumerated (empty: the kernel does not support the case). */
  readonly tactics: readonly string[];
  /** One line (or a few) per tactic that did not pass; empty when all passed. */
  readonly failures: readonly string[];
}

/**
 * Judge every tactic of `kernel` on `c`. An enumerated tactic that refuses, crashes or
 * disagrees is a failure; prepare refusing a problem with tactics is thrown (SPEC §5).
 */
export async function judgeGoldenOnKernel<H>(kernel: KernelUnderTest<H>, c: Case): Promise<GoldenJudgement> {
  const p = c.spec.problem;
  const tactics = (await kernel.tactics(p)).tactics;
  if (tactics.length === 0) return { tactics: [], failures: [] };
  const model = errorModel(p);
  const routingInput = routingInputFromCase(c);
  const refOpts = { precision: 'float64', fc1RelativeError: model.fc1RelativeError } as const;
  const reference = await runReference(c, refOpts);
  const handle = await kernel.prepare(c);
  const failures: string[] = [];
  try {
    for (const tactic of tactics) {
      const o = await executeTactic(kernel, handle, tactic);
      if (o.kind !== 'ran') {
        failures.push(`tactic ${tactic.label}: ${o.kind}: ${o.message}`);
        if (o.fatal) break; // a CUDA fault ends the context: later tactics would only repeat it
        continue;
      }
      const violations = observedViolations(kernel.name, tactic, o.runs);
      if (violations.length > 0) {
        failures.push(`tactic ${tactic.label}: incorrect: ${violations.join('; ')}`);
        continue;
      }
      const sel = judgeSelection(routingInput, reference, o.runs[0].ids, model);
      const forced = forcedIdsFor(reference.routing.ids, o.runs[0].ids, sel.unforceable, p.topK);
      const referenceForIds = forced === null ? null : await runReference(c, { ...refOpts, forcedIds: forced });
      const v = compare({
        routingInput, reference, referenceForIds, runs: o.runs, poison: POISON, digests: o.digests, model,
        context: { tactic: tactic.label, seed: c.spec.seed },
      });
      if (v.disposition !== 'passed') failures.push(`tactic ${tactic.label}: ${v.disposition}\n    ${v.lines.slice(0, 6).join('\n    ')}`);
    }
  } finally {
    await kernel.release(handle);
  }
  return { tactics: tactics.map((t) => t.label), failures };
}
