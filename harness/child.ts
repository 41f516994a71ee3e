/**
 * The child process that runs tactics (forked by childRunner.ts). It enumerates each case's
 * tactics, regenerates the case from its CaseSpec, prepares it, runs the requested tactics,
 * and streams each phase and outcome back. After a
 * CUDA fault (CudaError) it reports and exits: the CUDA context is poisoned, and the
 * parent starts a fresh child for the remaining tactics.
 */
import { generateCaseParallel } from '../reference/generate/parallel.js';
import { describeError, executeTactic, isUnsupported, selectedTactics } from './caseRunner.js';
import type { ChildMessage, ParentMessage } from './childProtocol.js';
import type { Provider } from './kernels/provider.js';
import { removePartialOutcomes, sendableOutcome } from './outcomeTransfer.js';
import { epochMs } from './phaseTimes.js';
import { createKernel, type ChildCrashPhase, type KernelChoice } from './kernels/select.js';

if (process.send === undefined) {
  console.error('harness/child: must be started by the campaign (no IPC channel)');
  process.exit(2);
}

const send = (m: ChildMessage): Promise<void> =>
  new Promise((resolve) => { process.send!(m, undefined, {}, () => resolve()); });

let kernel: Provider | null = null;
let choice: KernelChoice | null = null;
let repeats: number | undefined;
/** Where large outcomes are written (outcomeTransfer.ts), and from how many bytes. */
let outcomeDir: string | undefined;
let inlineBytes: number | undefined;
let outcomesSent = 0;
let queue: Promise<void> = Promise.resolve();

/** Test hook (KernelChoice.crashPhase): die in `phase` as a crashing process would. */
function crashHook(phase: ChildCrashPhase, attempt: number): void {
  if (choice?.crashPhase === phase && (choice.crashAttempts === undefined || attempt < choice.crashAttempts)) process.exit(134);
}

/**
 * One case, in phases the parent is told about: tactics (from the problem alone), then
 * regenerate (the case's data from its spec), prepare, and each tactic. A process death is
 * attributed by the parent to the phase it last heard of.
 */
async function runCase(m: Extract<ParentMessage, { type: 'case' }>): Promise<void> {
  const k = kernel!;
  let tactics;
  try {
    tactics = await selectedTactics(k, m.spec.problem, m.filter);
  } catch (e) {
    await send(isUnsupported(e) ? { type: 'not_supported', id: m.id, message: describeError(e) } : { type: 'prepare_crashed', id: m.id, message: `enumerating tactics: ${describeError(e)}` });
    return;
  }
  await send({ type: 'tactics', id: m.id, tactics });
  if (tactics.length === 0) {
    await send({ type: 'case_done', id: m.id });
    return;
  }
  await send({ type: 'phase', id: m.id, phase: 'regenerate' });
  crashHook('regenerate', m.attempt);
  let c;
  try {
    c = await generateCaseParallel(m.spec); // every core for large weights, the same bytes
  } catch (e) {
    await send({ type: 'prepare_crashed', id: m.id, message: `regenerate: ${describeError(e)}` });
    return;
  }
  await send({ type: 'phase', id: m.id, phase: 'prepare' });
  crashHook('prepare', m.attempt);
  let handle: unknown;
  try {
    handle = await k.prepare(c);
  } catch (e) {
    await send(isUnsupported(e) ? { type: 'not_supported', id: m.id, message: describeError(e) } : { type: 'prepare_crashed', id: m.id, message: `prepare: ${describeError(e)}` });
    if (!isUnsupported(e)) process.exit(70);
    return;
  }
  for (const t of tactics) {
    if (m.skip.includes(t.label)) continue;
    await send({ type: 'tactic_start', id: m.id, label: t.label });
    const { fatal, ...outcome } = await executeTactic(k, handle, t, repeats);
    const sentAt = epochMs();
    const transfer = sendableOutcome(outcome, outcomeDir, outcomesSent++, inlineBytes);
    const writeMs = epochMs() - sentAt;
    await send({ type: 'tactic_done', id: m.id, outcome: transfer, fatal: fatal === true, sentAt, writeMs, maxRss: process.resourceUsage().maxRSS * 1024 });
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
        choice = m.kernel;
        kernel = await createKernel(m.kernel);
        repeats = m.repeats;
        outcomeDir = m.outcomeDir;
        inlineBytes = m.inlineBytes;
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
// Outcomes being written are never sent: remove them. Sent ones are the campaign's to read (it
// removes the folder once this process is gone).
process.on('exit', () => { if (outcomeDir !== undefined) removePartialOutcomes(outcomeDir); });
