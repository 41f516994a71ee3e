import test from 'ava';
import { spawnSync } from 'node:child_process';

// native/bench/ws_ring_model.py models config 6's hand-over protocol (gemm_ws.cuh: token/raw and
// tile rings, full / dqFree / tokFree mbarriers waited by parity) under random interleavings of
// several producer and consumer threads with copies landing late: no stage or tile is written while
// a wgmma may read it, every wgmma reads the right step's data, no parity wait passes early or
// blocks a completed phase, and every run ends. The kernel's ring sizes pass; a lead of TS - 1 or a
// single tile deadlock, and the model must say so. It asserts; this runs it on every CI machine.
test('the warp-specialized ring model holds (config 6: safe and live; the broken ring sizes fail)', (t) => {
  const python = process.env.MOE_HARNESS_PYTHON ?? 'python3';
  const r = spawnSync(python, ['native/bench/ws_ring_model.py'], { encoding: 'utf8', timeout: 120_000 });
  t.is(r.error, undefined, `could not run ${python}: ${r.error?.message}`);
  t.is(r.status, 0, `ws_ring_model.py failed:\n${r.stdout}\n${r.stderr}`);
  for (const rings of ['TS=6 L=4 DS=3', 'TS=8 L=6 DS=3']) t.true(r.stdout.includes(`${rings}: safe and live`), `${rings} missing:\n${r.stdout}`);
  t.regex(r.stdout, /L = TS - 1\) fails as it must: deadlock/);
  t.regex(r.stdout, /DS = 1\) fails as it must: deadlock/);
});
