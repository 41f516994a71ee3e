/**
 * What a tactic's config means, per kernel family, for the report's diagnoses ("only
 * split-K tactics"). Keyed by the family name (the kernel label before '+', e.g.
 * "native", "emulated"); a kernel not listed here gets diagnoses in terms of config
 * numbers only. configTraits.test.ts checks these entries against the native addon's
 * tactic table (native/src/tactics.cc, exported by tacticConfigs()) and the emulated
 * kernel's schedules (harness/kernels/emulatedTactics.ts), so they cannot drift.
 */

export interface ConfigTrait {
  readonly name: string;
  /** The config splits a GEMM's K dimension (partial sums reduced afterwards). */
  readonly splitK: boolean;
}

export const CONFIG_TRAITS: Readonly<Record<string, Readonly<Record<number, ConfigTrait>>>> = {
  native: {
    0: { name: 'w64-pipelined', splitK: false },
    1: { name: 'w128-wide', splitK: false },
    2: { name: 'w64-splitk-fc2', splitK: true },
    3: { name: 'w64-stream', splitK: false },
    4: { name: 'w128-smemdq', splitK: false },
    5: { name: 'w128-wgmma', splitK: false },
    6: { name: 'w128-ws', splitK: false },
  },
  emulated: {
    0: { name: 'K tiles of 64, sequential', splitK: false },
    1: { name: 'split-K in two halves', splitK: true },
    2: { name: 'MMA-like chain of 16-term blocks', splitK: false },
  },
};

/** The family of a kernel label: "emulated+fault:x" → "emulated". */
export function kernelFamily(kernelLabel: string): string {
  return kernelLabel.split('+')[0]!;
}

/** The traits of the configs of a kernel, or null when the family is not known here. */
export function configTraitsOf(kernelLabel: string): Readonly<Record<number, ConfigTrait>> | null {
  return CONFIG_TRAITS[kernelFamily(kernelLabel)] ?? null;
}
