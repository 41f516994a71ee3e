/**
 * The GPU suite's cases: every SPEC §6 configuration as an expert-parallel slice whose
 * weights stay near 200 M FP4 values (so generation, which runs in the campaign and again
 * in the child, and the CPU reference keep the suite under 10 minutes on one H100 host),
 * at two ragged token counts, plus small random shapes from the case mix.
 */
import type { CaseSpec, LogitFamily } from '../reference/case.js';
import { CONFIG_NAMES, configProblem } from '../reference/configs.js';
import type { CampaignCase } from './campaign.js';
import { caseMix, type MixSize } from './caseMix.js';

/** Token counts of the configuration cases: a small and a larger batch, neither a multiple of a tile size. */
const GPU_CONFIG_T = [7, 300] as const;
/** FP4 weight values per configuration slice (3·H·I per expert). */
const GPU_SLICE_VALUES = 2e8;

/** The configuration cases: slices alternate between the first experts and a slice from the middle (localOffset > 0). */
export function gpuConfigCases(seed: number): CampaignCase[] {
  const out: CampaignCase[] = [];
  let n = 0;
  for (const name of CONFIG_NAMES) {
    for (const T of GPU_CONFIG_T) {
      const base = configProblem(name, T);
      const El = Math.max(1, Math.min(base.E, Math.floor(GPU_SLICE_VALUES / (3 * base.H * base.I))));
      const localOffset = n % 2 === 1 && El < base.E ? Math.floor((base.E - El) / 2) : 0;
      // Ties route to the lowest indices (lower index wins, also among deepseek groups), so a
      // slice from the middle would get no token: ties only for slices that start at expert 0.
      const logitFamily: LogitFamily = localOffset === 0 && n % 4 === 2 ? 'ties' : 'normal';
      const spec: CaseSpec = { problem: configProblem(name, T, { localOffset, localExperts: El }), seed: (seed * 7919 + n) >>> 0, logitFamily, scaleFamily: 'normal' };
      out.push({ spec });
      n++;
    }
  }
  return out;
}

/** Random shapes of the case mix's scenarios: small (H, I <= 128) or medium (H, I up to 1024, T up to 511). */
export function gpuRandomCases(runs: number, seed: number, size: MixSize = 'small'): CampaignCase[] {
  return caseMix({ runs, seed, size }).map((spec) => ({ spec }));
}
