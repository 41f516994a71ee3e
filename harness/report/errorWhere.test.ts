import test from 'ava';
import type { ErrorMap } from './errorMap.js';
import { errorWhere, rangesText } from './errorWhere.js';

function map(rows: number, cols: number, hot: Array<[number, number]>, spans: [number, number] = [1, 1], T = rows * spans[0]): ErrorMap {
  const cells = Array.from({ length: rows * cols }, () => '3');
  for (const [r, c] of hot) cells[r * cols + c] = 'c';
  return {
    T, H: cols * spans[1], tokensPerCell: spans[0], hiddenPerCell: spans[1], rows, cols, cells: cells.join(''),
    classes: { within: 0, flip_explained: 0, beyond_bound: 0, nonfinite: 0, poison: 0, unjudged: 0 }, experts: [], expertsOmitted: 0, follows: [], worst: [],
  };
}

test('ranges', (t) => {
  t.is(rangesText([0, 1, 2, 5, 7, 8]), '0–2, 5, 7–8');
  t.is(rangesText([1, 3, 5, 7, 9, 11, 13], 3), '1, 3, 5, …');
});

test('where the errors are, in tokens and hidden columns', (t) => {
  t.is(errorWhere(map(4, 8, [])), null);
  t.is(errorWhere(map(4, 8, [[3, 0], [3, 7]])), 'errors in tokens 3 (1 of 4) × hidden 0, 7 (2 of 8)');
  // Cells of 2 tokens × 4 columns count whole; the last cell is cut at T.
  t.is(errorWhere(map(4, 8, [[3, 1]], [2, 4], 7)), 'errors in tokens 6 (1 of 7) × hidden 4–7 (4 of 32)');
  t.is(errorWhere(map(2, 2, [[0, 0], [1, 1]])), 'errors in tokens 0–1 (all 2) × hidden 0–1 (all 2)');
});
