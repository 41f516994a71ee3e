/**
 * A progress bar on stderr: redrawn in place on a TTY, a line every ~10% otherwise.
 * One unit per count: "cases 3/24 · records 20 passed · 0 not passed · 4s" — cases done
 * out of the run's cases (never records), then the (case, tactic) records judged so far.
 */
/** The progress text (without bar or label). */
export function progressText(done: number, total: number, stats: { passed: number; failed: number }, secs: number): string {
  return `cases ${done}/${total} · records ${stats.passed} passed · ${stats.failed} not passed · ${secs.toFixed(0)}s`;
}

/** Whether the bar is drawn ('shown') or nothing is written ('quiet', --quiet). */
export type ProgressMode = 'shown' | 'quiet';

export class Progress {
  private readonly tty: boolean;
  private lastPct = -1;
  private readonly started = performance.now();

  constructor(private readonly total: number, private readonly stream: NodeJS.WriteStream = process.stderr, private readonly mode: ProgressMode = 'shown') {
    this.tty = stream.isTTY === true;
  }

  update(done: number, label: string, stats: { passed: number; failed: number }): void {
    if (this.mode === 'quiet') return;
    const frac = this.total === 0 ? 1 : done / this.total;
    const text = progressText(done, this.total, stats, (performance.now() - this.started) / 1000);
    if (this.tty) {
      const width = 24;
      const fill = Math.round(frac * width);
      const cols = this.stream.columns ?? 100;
      const line = `[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${text} ${label}`;
      this.stream.write(`\r${line.slice(0, cols - 1).padEnd(Math.min(cols - 1, line.length))}\x1b[K`);
    } else {
      const pct = Math.floor(frac * 10);
      if (pct !== this.lastPct || done === this.total) {
        this.lastPct = pct;
        this.stream.write(`moe-harness: ${text}\n`);
      }
    }
  }

  finish(): void {
    if (this.mode === 'shown' && this.tty) this.stream.write('\n');
  }
}
