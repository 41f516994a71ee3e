/**
 * The child process that runs tactics (forked by childRunner.ts). It regenerates each
 * case from its CaseSpec, runs the requested tactics, and streams outcomes back. After a
 * CUDA fault (CudaError) it reports and exits: the CUDA context is poisoned, and the
 * parent starts a fresh child for the remaining tactics.
 */
import { generateCase } from '../reference/generate.js';
import { describeError, executeTactic, isUnsupported, selectedTactics } from './caseRunner.js';
import type { ChildMessage, ParentMessage } from './childProtocol.js';
import type { Provider } from './kernels/provider.js';
import { createKernel } from './kernels/select.js';

if (process.send === undefined) {
  console.error('harness/child: must be started by the campaign (no IPC channel)');
  process.exit(2);
}

const send = (m: ChildMessage): Promise<void> =>
  new Promise((resolve) => { process.send!(m, undefined, {}, () => resolve()); });

let kernel: Provider | null = null;
let queue: Promise<void> = Promise.resolve();

async function runCase(m: Extract<ParentMessage, { type: 'case' }>): Promise<void> {
  const k = kernel!;
  const c = generateCase(m.spec);
  let tactics;
  try {
    tactics = await selectedTactics(k, c, m.filter);
  } catch (e) {
    await send(isUnsupported(e) ? { type: 'not_supported', id: m.id, message: describeError(e) } : { type: 'prepare_crashed', id: m.id, message: describeError(e) });
    return;
  }
  await send({ type: 'tactics', id: m.id, tactics });
  if (tactics.length === 0) {
    await send({ type: 'case_done', id: m.id });
    return;
  }
  let handle: unknown;
  try {
    handle = await k.prepare(c);
  } catch (e) {
    await send(isUnsupported(e) ? { type: 'not_supported', id: m.id, message: describeError(e) } : { type: 'prepare_crashed', id: m.id, message: describeError(e) });
    if (!isUnsupported(e)) process.exit(70);
    return;
  }
  for (const t of tactics) {
    if (m.skip.includes(t.label)) continue;
    await send({ type: 'tactic_start', id: m.id, label: t.label });
    const { fatal, ...outcome } = await executeTactic(k, handle, t);
    await send({ type: 'tactic_done', id: m.id, outcome, fatal: fatal === true });
    if (fatal) process.exit(70);
  }
  await k.release(handle);
  await send({ type: 'case_done', id: m.id });
}

process.on('message', (raw: unknown) => {
  const m = raw as ParentMessage;
  queue = queue.then(async () => {
    if (m.type === 'exit') process.exit(0);
    if (m.type === 'init') {
      try {
        kernel = await createKernel(m.kernel);
        await send({ type: 'ready', kernel: kernel.name, description: await kernel.describe() });
      } catch (e) {
        await send({ type: 'init_failed', message: describeError(e) });
        process.exit(3);
      }
      return;
    }
    await runCase(m);
  }).catch(async (e: unknown) => {
    console.error(`harness/child: ${describeError(e)}`);
    process.exit(71);
  });
});
process.on('disconnect', () => process.exit(0));
