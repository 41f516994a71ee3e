/** Per-tactic histogram of |out - reference| / bound as inline SVG. */
import { RATIO_BIN_LABELS } from '../verdict.js';
import { esc } from './html.js';

/** A bar chart of one tactic's ratio histogram (log-scaled counts) as inline SVG. */
export function histogramSvg(h: readonly number[], title: string): string {
  const W = 420;
  const H = 150;
  const left = 8;
  const barW = (W - 2 * left) / h.length;
  const max = Math.max(1, ...h);
  const scale = (v: number): number => (v === 0 ? 0 : (Math.log10(1 + v) / Math.log10(1 + max)) * (H - 50));
  const bars = h.map((v, i) => {
    const bh = scale(v);
    const x = left + i * barW;
    const color = i <= 6 ? '#3a8a3a' : i === 7 ? '#d08a1a' : '#c0392b';
    return `<rect x="${x + 2}" y="${H - 30 - bh}" width="${barW - 4}" height="${bh}" fill="${color}"><title>${esc(RATIO_BIN_LABELS[i]!)}: ${v}</title></rect>` +
      `<text x="${x + barW / 2}" y="${H - 16}" font-size="9" text-anchor="middle">${esc(RATIO_BIN_LABELS[i]!)}</text>` +
      `<text x="${x + barW / 2}" y="${H - 34 - bh}" font-size="8" text-anchor="middle">${v}</text>`;
  }).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">` +
    `<text x="${left}" y="12" font-size="11" font-weight="bold">${esc(title)}</text>${bars}` +
    `<text x="${W / 2}" y="${H - 3}" font-size="9" text-anchor="middle">|out - reference| / bound (elements, log-scaled bars)</text></svg>`;
}
