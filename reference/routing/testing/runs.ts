/** fast-check run count: `base` times the MOE_HARNESS_RUNS multiplier (default 1). */
export function runs(base: number): number {
  const m = Number(process.env.MOE_HARNESS_RUNS ?? '1');
  return Math.max(1, Math.round(base * (Number.isFinite(m) && m > 0 ? m : 1)));
}
