/**
 * A property campaign: fast-check generates the problem and a data seed (caseSpecArb),
 * generateCase fills the tensors from the seed (seedrandom), and the property is "every
 * tactic of the kernel passes on this case". On a failure fast-check shrinks the shape and
 * the families (T, H, I, E, k, groups, EP slice, quant mode, logit and scale family, data
 * seed) towards the simplest failing case; its fc seed + path replay exactly that case
 * (`check --generator property --seed S --path "P"`).
 *
 * Records of the generated cases (fc path "i" for run i) form the report; the shrunk
 * counterexample is judged once more with its final path, so its findings and replay
 * commands carry `fc-seed S; path "P"`. Intermediate shrink steps are kept apart.
 */
import fc from 'fast-check';
import type { CaseSpec, LogitFamily, ScaleFamily } from '../reference/case.js';
import { BadArgumentError } from '../reference/errors.js';
import { describeProblem, type QuantMode, type RoutingMethodName } from '../reference/problem.js';
import { caseSpecArb } from '../properties/arbitraries/caseSpec.js';
import type { ArbSize, SizeLimits } from '../properties/arbitraries/size.js';
import { openCampaignSession, type CampaignResult, type CaseRecord, type Isolation } from './campaign.js';
import { kernelArgs, kernelLabel, type KernelChoice } from './kernels/select.js';
import type { ReferencePrecision } from './referenceFor.js';
import { kernelEnvPrefix } from './replayCommand.js';

export interface PropertyCampaignOptions {
  readonly kernel: KernelChoice;
  /** fast-check runs (generated cases before shrinking). */
  readonly runs: number;
  /** fast-check seed (an integer). */
  readonly seed: number;
  /** fast-check path: with the same seed and generator options, replays exactly that case. */
  readonly path?: string;
  // Generator options (must match between a run and its replay).
  readonly size?: ArbSize | SizeLimits;
  readonly methods?: readonly RoutingMethodName[];
  readonly quantModes?: readonly QuantMode[];
  readonly logitFamilies?: readonly LogitFamily[];
  readonly scaleFamilies?: readonly ScaleFamily[];
  /** Fix T. */
  readonly T?: number;
  /** Tactic filter patterns (tacticFilter.ts). */
  readonly tacticFilter?: readonly string[];
  readonly isolation?: Isolation;
  readonly referencePrecision?: ReferencePrecision;
  readonly timeoutMs?: number;
  /** Extra CLI arguments that reproduce the generator options, appended to the replay command. */
  readonly replayArgs?: string;
  readonly onEvent?: (e: PropertyCampaignEvent) => void;
}

export type PropertyCampaignEvent =
  | { readonly type: 'case'; readonly phase: 'run' | 'shrink'; readonly index: number; readonly runs: number; readonly problem: string }
  | { readonly type: 'judged'; readonly phase: 'run' | 'shrink'; readonly index: number; readonly passed: boolean; readonly records: readonly CaseRecord[] };

export interface Counterexample {
  /** The shrunk CaseSpec. */
  readonly spec: CaseSpec;
  readonly fcSeed: number;
  readonly fcPath: string;
  /** Shrink steps fast-check took to reach it. */
  readonly shrinks: number;
  /** Its records that did not pass (judged again with its seed and path). */
  readonly findings: CaseRecord[];
  /** Set when the property threw instead of judging (e.g. the reference failed). */
  readonly error?: string;
  /** `npx moe-harness check --generator property --seed S --path "P" --kernel K [--fault F]` */
  readonly replay: string;
}

export interface PropertyCampaignResult extends CampaignResult {
  readonly generator: 'property';
  readonly fcSeed: number;
  /** Cases fast-check generated before it stopped (shrink steps excluded). */
  readonly generated: number;
  /** Records of the shrink steps (not part of `records`). */
  readonly shrinkRecords: CaseRecord[];
  readonly counterexample: Counterexample | null;
}

export function propertyReplayCommand(kernel: KernelChoice, fcSeed: number, fcPath: string, extra = ''): string {
  return `${kernelEnvPrefix(kernel)}npx moe-harness check --generator property --seed ${fcSeed} --path "${fcPath}" ${kernelArgs(kernel)}` +
    `${extra ? ` ${extra}` : ''}`;
}

export async function runPropertyCampaign(opts: PropertyCampaignOptions): Promise<PropertyCampaignResult> {
  if (!Number.isSafeInteger(opts.runs) || opts.runs < 1) throw new BadArgumentError('runs', 'an integer >= 1', String(opts.runs));
  if (!Number.isSafeInteger(opts.seed)) throw new BadArgumentError('seed', 'an integer', String(opts.seed));
  if (opts.path !== undefined && !/^\d+(:\d+)*$/.test(opts.path)) {
    throw new BadArgumentError('path', 'a fast-check path such as "12:0:3"', JSON.stringify(opts.path));
  }
  const started = performance.now();
  const arb = caseSpecArb(
    {
      ...(opts.size !== undefined ? { size: opts.size } : {}),
      ...(opts.methods !== undefined ? { methods: opts.methods } : {}),
      ...(opts.quantModes !== undefined ? { quantModes: opts.quantModes } : {}),
      ...(opts.T !== undefined ? { T: opts.T } : {}),
    },
    {
      ...(opts.logitFamilies !== undefined ? { logitFamilies: opts.logitFamilies } : {}),
      ...(opts.scaleFamilies !== undefined ? { scaleFamilies: opts.scaleFamilies } : {}),
    },
  );
  const session = await openCampaignSession({
    kernel: opts.kernel, isolation: opts.isolation ?? 'child',
    ...(opts.tacticFilter ? { tactics: opts.tacticFilter } : {}),
    ...(opts.referencePrecision ? { referencePrecision: opts.referencePrecision } : {}),
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
  });
  const records: CaseRecord[] = [];
  const shrinkRecords: CaseRecord[] = [];
  // The first failure ends the generated runs; later executions are shrink steps. The last
  // failing execution is the counterexample fast-check reports.
  let failed = false;
  let generated = 0;
  let shrinkSteps = 0;
  let lastFailing: Failing | null = null;
  const replaying = opts.path !== undefined && opts.path.includes(':');
  const firstIndex = opts.path !== undefined ? Number(opts.path.split(':')[0]) : 0;
  let details: fc.RunDetails<[CaseSpec]>;
  try {
    details = await fc.check(
      fc.asyncProperty(arb, async (spec) => {
        const phase = failed ? 'shrink' : 'run';
        const index = phase === 'run' ? generated++ : shrinkSteps++;
        // Paths known in advance: run i of a fresh campaign is "i"; a replay is its own path.
        const fcPath = phase === 'shrink' ? undefined : replaying ? opts.path : String(firstIndex + index);
        opts.onEvent?.({ type: 'case', phase, index, runs: opts.runs, problem: describeProblem(spec.problem) });
        let recs: CaseRecord[];
        try {
          recs = await session.run({ spec, origin: { fcSeed: opts.seed, ...(fcPath !== undefined ? { fcPath } : {}) } });
        } catch (e) {
          failed = true;
          lastFailing = { key: JSON.stringify(spec), records: [], error: (e as Error).message ?? String(e) };
          throw e;
        }
        (phase === 'run' ? records : shrinkRecords).push(...recs);
        const passed = recs.every((r) => r.disposition === 'passed');
        opts.onEvent?.({ type: 'judged', phase, index, passed, records: recs });
        if (!passed) {
          failed = true;
          lastFailing = { key: JSON.stringify(spec), records: recs, ...(fcPath !== undefined ? { fcPath } : {}) };
        }
        return passed;
      }),
      {
        seed: opts.seed, numRuns: opts.runs,
        ...(opts.path !== undefined ? { path: opts.path } : {}),
        // A replay of a shrunk path runs exactly that case, without shrinking it again.
        ...(replaying ? { endOnFailure: true } : {}),
      },
    );
  } catch (e) {
    await session.close();
    throw e;
  }
  let counterexample: Counterexample | null = null;
  try {
    if (details.failed && details.counterexample !== null && details.counterexamplePath !== null) {
      const spec = details.counterexample[0];
      const fcPath = details.counterexamplePath;
      const last = lastFailing as Failing | null;
      const same = last !== null && last.key === JSON.stringify(spec) ? last : null;
      let findings = same?.records.filter((r) => r.disposition !== 'passed') ?? [];
      if (same?.error === undefined && same?.fcPath !== fcPath) {
        // Judge it again so that its findings and replay commands carry the final path.
        const again = await session.run({ spec, origin: { fcSeed: opts.seed, fcPath } });
        records.push(...again);
        const bad = again.filter((r) => r.disposition !== 'passed');
        if (bad.length > 0 || findings.length === 0) findings = bad;
      }
      counterexample = {
        spec, fcSeed: opts.seed, fcPath, shrinks: details.numShrinks, findings,
        ...(same?.error !== undefined ? { error: same.error } : {}),
        replay: propertyReplayCommand(opts.kernel, opts.seed, fcPath, opts.replayArgs),
      };
    }
  } finally {
    await session.close();
  }
  return {
    generator: 'property', kernel: kernelLabel(opts.kernel), cases: new Set(records.map((r) => r.caseIndex)).size,
    records, elapsedMs: performance.now() - started, childStarts: session.childStarts(),
    fcSeed: opts.seed, generated, shrinkRecords, counterexample,
  };
}

interface Failing {
  readonly key: string;
  readonly records: CaseRecord[];
  readonly fcPath?: string;
  readonly error?: string;
}
