/**
 * Expert permutations for the relabelling property. Grouped routing (a method with
 * groups of `groupSize` contiguous experts) keeps its groups: experts move within their
 * group and whole groups move; otherwise any permutation. Deterministic from a seed
 * (fast-check shrinks the seed; 0 is the identity).
 */
export function expertPermutation(E: number, seed: number, groupSize: number | null): Int32Array {
  let state = seed >>> 0;
  const next = (n: number): number => {
    // xorshift32; fine for shuffling a few dozen entries.
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    return state % n;
  };
  const shuffle = (a: number[]): number[] => {
    if (seed === 0) return a;
    for (let i = a.length - 1; i > 0; i--) {
      const j = next(i + 1);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  };
  const size = groupSize ?? E;
  const groups = shuffle(Array.from({ length: E / size }, (_, g) => g));
  const perm = new Int32Array(E);
  for (let g = 0; g < E / size; g++) {
    const inner = shuffle(Array.from({ length: size }, (_, i) => i));
    for (let i = 0; i < size; i++) perm[g * size + i] = groups[g]! * size + inner[i]!;
  }
  return perm;
}
