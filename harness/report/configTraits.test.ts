import test from 'ava';
import { EMULATED_CONFIGS, scheduleOf } from '../kernels/emulatedTactics.js';
import { tacticConfigs } from '../../native/index.js';
import { CONFIG_TRAITS, configTraitsOf, kernelFamily } from './configTraits.js';

test('the native entry agrees with the addon tactic table (names, split-K)', (t) => {
  const { configs } = tacticConfigs();
  t.deepEqual(Object.keys(CONFIG_TRAITS.native!).map(Number), configs.map((c) => c.config));
  for (const c of configs) {
    t.is(CONFIG_TRAITS.native![c.config]!.name, c.name);
    t.is(CONFIG_TRAITS.native![c.config]!.splitK, c.splitKFc2, `config ${c.config}`);
  }
});

test('the emulated entry agrees with the emulated schedules (split-K = halves)', (t) => {
  t.deepEqual(Object.keys(CONFIG_TRAITS.emulated!).map(Number), [...EMULATED_CONFIGS]);
  for (const c of EMULATED_CONFIGS) t.is(CONFIG_TRAITS.emulated![c]!.splitK, scheduleOf(c).kTile === 'half', `config ${c}`);
});

test('families come from the kernel label; unknown kernels have none', (t) => {
  t.is(kernelFamily('emulated+fault:gate_up_swapped'), 'emulated');
  t.is(configTraitsOf('native')![2]!.splitK, true);
  t.is(configTraitsOf('lib:/x/y.so'), null);
});
