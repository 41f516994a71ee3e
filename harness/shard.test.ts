import test from 'ava';
import fc from 'fast-check';
import { inShard, parseShardOption, resolveShard, shardFromEnv, shardItems } from './shard.js';

test('CI_NODE_INDEX/CI_NODE_TOTAL are read as ava reads them: 0-based, 1-based under GitLab', (t) => {
  t.is(shardFromEnv({}), null);
  t.deepEqual(shardFromEnv({ CI_NODE_INDEX: '0', CI_NODE_TOTAL: '3' }), { index: 0, total: 3 });
  t.deepEqual(shardFromEnv({ CI_NODE_INDEX: '2', CI_NODE_TOTAL: '3' }), { index: 2, total: 3 });
  t.deepEqual(shardFromEnv({ CI_NODE_INDEX: '3', CI_NODE_TOTAL: '3', GITLAB_CI: 'true' }), { index: 2, total: 3 });
  t.deepEqual(shardFromEnv({ CI_NODE_INDEX: '1', CI_NODE_TOTAL: '3', GITLAB_CI: 'true' }), { index: 0, total: 3 });
});

test('bad shard settings name the variable or option, the expected and the actual value', (t) => {
  const cases: Array<[() => unknown, RegExp]> = [
    [() => shardFromEnv({ CI_NODE_INDEX: '1' }), /CI_NODE_INDEX and CI_NODE_TOTAL: expected both set, or neither, got CI_NODE_INDEX=1 CI_NODE_TOTAL=\(unset\)/],
    [() => shardFromEnv({ CI_NODE_INDEX: '3', CI_NODE_TOTAL: '3' }), /CI_NODE_INDEX: expected an integer from 0 to 2 \(0-based, CI_NODE_TOTAL=3\), got "3"/],
    [() => shardFromEnv({ CI_NODE_INDEX: '0', CI_NODE_TOTAL: '3', GITLAB_CI: 'true' }), /CI_NODE_INDEX: expected an integer from 1 to 3 \(1-based under GitLab/],
    [() => shardFromEnv({ CI_NODE_INDEX: '0', CI_NODE_TOTAL: '0' }), /CI_NODE_TOTAL: expected an integer >= 1, got "0"/],
    [() => shardFromEnv({ CI_NODE_INDEX: 'a', CI_NODE_TOTAL: '2' }), /CI_NODE_INDEX: expected an integer from 0 to 1/],
    [() => parseShardOption('2/2'), /--shard: expected I\/N with 0 <= I < N \(0-based\), or none, got "2\/2"/],
    [() => parseShardOption('1-2'), /--shard: expected I\/N/],
  ];
  for (const [f, re] of cases) t.throws(f, { message: re });
});

test('--shard wins over the environment; --shard none turns sharding off', (t) => {
  const env = { CI_NODE_INDEX: '1', CI_NODE_TOTAL: '2' };
  t.deepEqual(resolveShard(undefined, env), { shard: { index: 1, total: 2 }, source: 'environment' });
  t.deepEqual(resolveShard('0/4', env), { shard: { index: 0, total: 4 }, source: 'option' });
  t.deepEqual(resolveShard('none', env), { shard: null });
});

test('shards are disjoint, cover every case once, and keep the unsharded index', (t) => {
  fc.assert(fc.property(fc.nat(60), fc.integer({ min: 1, max: 9 }), (n, total) => {
    const items = Array.from({ length: n }, (_, i) => `case-${i}`);
    const seen = new Map<number, number>();
    for (let s = 0; s < total; s++) {
      for (const { item, index } of shardItems(items, { index: s, total })) {
        if (item !== items[index] || index % total !== s || !inShard(index, { index: s, total })) return false;
        seen.set(index, (seen.get(index) ?? 0) + 1);
      }
    }
    return seen.size === n && [...seen.values()].every((c) => c === 1);
  }));
  t.deepEqual(shardItems(['a', 'b', 'c'], null).map((x) => x.index), [0, 1, 2]);
});
