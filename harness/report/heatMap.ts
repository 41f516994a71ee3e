/**
 * The pictures of an ErrorMap on the page: the token × hidden heat map of |out − ref| /
 * bound levels and the expert × hidden map of shares beyond the bound, each a palette PNG
 * inlined as a data: URI (a few hundred bytes) and scaled up with pixelated rendering,
 * with its axes written out. The legend is drawn once per page (heatLegendHtml).
 */
import { ERROR_LEVELS, type ErrorMap } from './errorMap.js';
import { esc } from './html.js';
import { palettePng, pngDataUri } from './png.js';

/** One colour per ERROR_LEVELS entry: grey (not judged), greens within the bound, orange flip, reds beyond, purple non-finite, blue never written. */
const LEVEL_COLOURS: readonly string[] = [
  '#d9d9d9', '#ffffff', '#eef7ea', '#d6edcd', '#b5dfa6', '#8ccb79', '#5fb04d', '#2f8a2f',
  '#f0a030', '#f6b0a8', '#e8675c', '#c62828', '#6d0000', '#7b3fb0', '#1f4fbf',
];
/** Shares beyond the bound in tenths, 0 … 10: white to dark red. */
const SHARE_COLOURS: readonly string[] = [
  '#ffffff', '#fde3df', '#fbc8c0', '#f7aba0', '#f28e81', '#ea7263', '#de5747', '#cc3f30', '#b32a1f', '#951a12', '#700c08',
];

/** Screen pixels per cell: the grid spans about 640 px across, cells 3…12 px. */
function cellPx(cols: number): number {
  return Math.max(3, Math.min(12, Math.floor(640 / cols)));
}

export function heatMapHtml(map: ErrorMap, caption: string): string {
  const pixels = Uint8Array.from(map.cells, (ch) => parseInt(ch, 36));
  const png = pngDataUri(palettePng(map.cols, map.rows, pixels, LEVEL_COLOURS));
  const px = cellPx(map.cols);
  const t = map.tokensPerCell === 1 ? 'one token per row' : `${map.tokensPerCell} tokens per row`;
  const h = map.hiddenPerCell === 1 ? 'one element per column' : `${map.hiddenPerCell} elements per column`;
  return `<figure class="heat"><figcaption>${esc(caption)}: token (down, 0…${map.T - 1}; ${t}) × hidden (across, 0…${map.H - 1}; ${h}); a cell shows its worst element</figcaption>` +
    `<img class="heatmap" alt="${esc(caption)}" width="${map.cols * px}" height="${map.rows * px}" data-rows="${map.rows}" data-cols="${map.cols}" src="${png}"></figure>`;
}

export function expertMapHtml(map: ErrorMap): string {
  if (map.experts.length === 0) return '';
  const rows = map.experts.length;
  const pixels = new Uint8Array(rows * map.cols);
  map.experts.forEach((e, r) => { for (let c = 0; c < map.cols; c++) pixels[r * map.cols + c] = parseInt(e.cells[c]!, 36); });
  const png = pngDataUri(palettePng(map.cols, rows, pixels, SHARE_COLOURS));
  const px = cellPx(map.cols);
  const labels = map.experts.map((e) => `<div>e${e.expert} (${e.tokens})</div>`).join('');
  return `<figure class="experts"><figcaption>per expert: share of the tokens routed to it (count in brackets) whose element is beyond the bound, white 0 … dark red all; hidden across as above` +
    `${map.expertsOmitted > 0 ? `; ${map.expertsOmitted} more experts with smaller shares not drawn` : ''}</figcaption>` +
    `<div class="expertgrid"><div class="elabels">${labels}</div><img class="expertmap" alt="share beyond bound per expert" width="${map.cols * px}" height="${rows * 12}" data-rows="${rows}" src="${png}"></div></figure>`;
}

/** The colour legend of both maps, once per page. */
export function heatLegendHtml(): string {
  const sw = (c: string, label: string): string => `<span class="sw"><i style="background:${c}"></i>${esc(label)}</span>`;
  return `<p class="legend">|out − ref| / bound: ${ERROR_LEVELS.map((l, i) => sw(LEVEL_COLOURS[i]!, l)).join(' ')}</p>`;
}
