/** "1 case", "2 cases", "0 cases": a count with its noun, singular only for exactly one. */
export function plural(n: number, noun: string, nouns = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : nouns}`;
}
