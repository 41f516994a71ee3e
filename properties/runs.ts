/**
 * fast-check run counts for property suites: `base` times the MOE_HARNESS_RUNS multiplier
 * (default 1; e.g. MOE_HARNESS_RUNS=10 for a nightly run), at least 1.
 */
export function runs(base: number): number {
  const raw = process.env.MOE_HARNESS_RUNS;
  const m = raw === undefined || raw === '' ? 1 : Number(raw);
  return Math.max(1, Math.round(base * (Number.isFinite(m) && m > 0 ? m : 1)));
}
