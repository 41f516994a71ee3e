import test from 'ava';
import { EmulatedKernel } from '../kernels/emulated.js';
import { detectEnvironment, harnessVersion, TUNER_VERSION } from './environment.js';

test('a CPU provider: device cpu, 0 SMs, driver none, its build id and the harness version', async (t) => {
  const e = await detectEnvironment(await new EmulatedKernel().describe());
  t.deepEqual(e, { device: 'cpu', smCount: 0, driver: 'none', kernel: 'emulated', kernelBuild: 'emulated@2', harnessVersion: harnessVersion() });
  t.regex(harnessVersion(), new RegExp(`^moe-harness@\\d+\\.\\d+\\.\\d+/tuner@${TUNER_VERSION}$`));
});
