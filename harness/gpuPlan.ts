/**
 * The GPU suite's cases: every SPEC §6 configuration as an expert-parallel slice whose
 * weights stay near 400 M FP4 values (so generation and the CPU reference keep the
 * suite under 10 minutes on one H100 host), at a few token counts, plus small random
 * shapes from the case mix.
 */
import type { CaseSpec, LogitFamily } from '../reference/case.js';
import { CONFIG_NAMES, configProblem } from '../reference/configs.js';
import type { CampaignCase } from './campaign.js';
import { caseMix } from './caseMix.js';

/** Token counts of the configuration cases: one token, a ragged batch, a larger ragged batch. */
export const GPU_CONFIG_T = [1, 37, 300] as const;
/** FP4 weight values per configuration slice (3·H·I per expert). */
export const GPU_SLICE_VALUES = 4e8;

/** The configuration cases: slices alternate between the first experts and a slice from the middle (localOffset > 0). */
export function gpuConfigCases(seed: number): CampaignCase[] {
  const out: CampaignCase[] = [];
  let n = 0;
  for (const name of CONFIG_NAMES) {
    for (const T of GPU_CONFIG_T) {
      const base = configProblem(name, T);
      const El = Math.max(1, Math.min(base.E, Math.floor(GPU_SLICE_VALUES / (3 * base.H * base.I))));
      const localOffset = n % 2 === 1 && El < base.E ? Math.floor((base.E - El) / 2) : 0;
      const logitFamily: LogitFamily = (['normal', 'ties', 'normal'] as const)[n % 3]!;
      const spec: CaseSpec = { problem: configProblem(name, T, { localOffset, localExperts: El }), seed: (seed * 7919 + n) >>> 0, logitFamily, scaleFamily: 'normal' };
      out.push({ spec });
      n++;
    }
  }
  return out;
}

/** Small random shapes (the CPU mix's scenarios). */
export function gpuRandomCases(runs: number, seed: number): CampaignCase[] {
  return caseMix({ runs, seed }).map((spec) => ({ spec }));
}
