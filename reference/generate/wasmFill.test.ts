/**
 * fillFromTable16Wasm against its JS twin Rng.fillFromTable16: the same bytes and the same
 * generator state afterwards, for odd and even counts, offsets, several 1 MiB blocks and a
 * change of table; and the committed fillModule.ts is what fill.wat assembles to.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { streamRng } from '../rng.js';
import { fillFromTable16Wasm } from './wasmFill.js';

const tableOf = (k: number) => Uint8Array.from({ length: 65536 }, (_, i) => (i * k + (i >>> 11)) & 0xff);

test('the committed fillModule.ts is what fill.wat assembles to', async (t) => {
  const { assembleFillModule, fillModuleSource } = await import('./wasm/build.mjs');
  t.is(readFileSync(new URL('./wasm/fillModule.ts', import.meta.url), 'utf8'), fillModuleSource(await assembleFillModule()),
    'stale: run node reference/generate/wasm/build.mjs and commit fillModule.ts');
});

test('the same bytes and the same state as Rng.fillFromTable16 (odd, even, offsets, several blocks, table changes)', (t) => {
  const cases: Array<[number, number, number]> = [[0, 0, 7], [0, 1, 7], [3, 2, 7], [1, 1001, 13], [0, (1 << 20) * 2 + 17, 7], [5, (1 << 20) + 2, 13], [2, 4096, 7]];
  for (const [i, [offset, count, k]] of cases.entries()) {
    const table = tableOf(k);
    const a = streamRng(9, `c${i}`);
    const b = streamRng(9, `c${i}`);
    const outA = new Uint8Array(offset + count + 3).fill(0xee);
    const outB = outA.slice();
    a.fillFromTable16(outA, offset, count, table);
    fillFromTable16Wasm(b, outB, offset, count, table);
    t.true(Buffer.compare(outA, outB) === 0, `bytes, offset ${offset} count ${count} table ${k}`);
    t.deepEqual(b.state(), a.state(), `state afterwards, offset ${offset} count ${count}`);
    t.is(b.u32(), a.u32(), 'the next draw');
  }
});

test('a bad table or range is refused naming it', (t) => {
  const rng = streamRng(1, 'x');
  t.throws(() => fillFromTable16Wasm(rng, new Uint8Array(8), 0, 8, new Uint8Array(10)), { message: /table: expected 65536 bytes, got 10/ });
  t.throws(() => fillFromTable16Wasm(rng, new Uint8Array(8), 4, 8, tableOf(7)), { message: /offset 4 \+ count 8: expected within the output's 8 bytes/ });
});
