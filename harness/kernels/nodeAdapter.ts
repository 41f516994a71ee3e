/**
 * nodeAdapter: any provider of the registry (select.ts) served through the process protocol
 * (docs/process-protocol.md), the Node counterpart of adapters/python/. It lets the campaign
 * judge our own kernels through door 2 (the same dispositions as direct), and it is what the
 * door's overhead benchmark (processBench.ts) measures against the direct provider.
 *
 *   node --import tsx harness/kernels/nodeAdapter.ts --kernel emulated [--fault NAME]
 *   node dist/harness/kernels/nodeAdapter.js --kernel native
 *
 * The case is rebuilt from the inputs file's tensors (goldens/caseTensors.ts), never
 * regenerated: the kernel sees exactly the bytes the harness wrote.
 */
import { writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { tensorsToCase } from '../../goldens/caseTensors.js';
import { tensorOf, writeSafetensors } from '../../goldens/safetensors.js';
import type { CaseSpec } from '../../reference/case.js';
import type { FaultName } from '../faults.js';
import { parseKernelSpec } from './kernelSpec.js';
import { readSafetensorsFile } from './largeFiles.js';
import { PROTOCOL_VERSIONS } from './processProtocol.js';
import type { Provider, Tactic } from './provider.js';
import { createKernel } from './select.js';

type Request = { id: number; op: string } & Record<string, unknown>;

async function serveProvider(kernel: Provider, fds: readonly [number, number] = [3, 4]): Promise<void> {
  const input = new Socket({ fd: fds[0], readable: true, writable: false });
  const output = new Socket({ fd: fds[1], readable: false, writable: true });
  const handles = new Map<string, { handle: unknown; tactics: Map<string, Tactic>; problem: CaseSpec['problem'] }>();
  let nextHandle = 1;
  const answer = (m: Record<string, unknown>): Promise<void> =>
    new Promise((resolve) => { output.write(`${JSON.stringify(m)}\n`, () => resolve()); });

  async function handle(r: Request): Promise<Record<string, unknown>> {
    switch (r.op) {
      case 'hello': {
        const protocols = Array.isArray(r.protocols) ? r.protocols : [];
        const v = PROTOCOL_VERSIONS.find((x) => protocols.includes(x));
        if (v === undefined) throw Object.assign(new Error(`protocols: expected one of ${PROTOCOL_VERSIONS.join(', ')}, got ${JSON.stringify(r.protocols)}`), { kind: 'unsupported' });
        return { protocol: v, describe: await kernel.describe() };
      }
      case 'tactics': {
        const tl = await kernel.tactics(r.problem as CaseSpec['problem']);
        return { tactics: tl.tactics, unavailable: tl.unavailable };
      }
      case 'prepare': {
        const file = readSafetensorsFile(r.inputs as string); // weights over 1 GiB: parts of whole experts
        const spec = JSON.parse(file.metadata.case_spec ?? JSON.stringify({ problem: r.problem, seed: 0, logitFamily: 'normal', scaleFamily: 'normal' })) as CaseSpec;
        const c = tensorsToCase(spec, file.tensors, r.inputs as string);
        const h = await kernel.prepare(c);
        const tactics = new Map((await kernel.tactics(spec.problem)).tactics.map((t) => [t.label, t] as const));
        const id = `h${nextHandle++}`;
        handles.set(id, { handle: h, tactics, problem: spec.problem });
        return { handle: id };
      }
      case 'run': {
        const h = handles.get(r.handle as string);
        if (h === undefined) throw new Error(`handle: expected one prepare returned, got ${JSON.stringify(r.handle)}`);
        const tactic = h.tactics.get(r.tactic as string);
        if (tactic === undefined) throw Object.assign(new Error(`tactic: expected one of ${[...h.tactics.keys()].join(', ')}, got ${JSON.stringify(r.tactic)}`), { kind: 'bad_tactic' });
        const o = await kernel.run(h.handle, tactic, { poison: r.poison as number });
        // Shapes from the lengths the kernel returned (a wrong length then shows as a wrong shape).
        const { H, topK: k } = h.problem;
        writeFileSync(r.output as string, writeSafetensors({
          output: tensorOf('BF16', o.output.length % H === 0 ? [o.output.length / H, H] : [o.output.length], o.output),
          ids: tensorOf('I32', o.ids.length % k === 0 ? [o.ids.length / k, k] : [o.ids.length], o.ids),
          weights: tensorOf('F32', o.weights.length % k === 0 ? [o.weights.length / k, k] : [o.weights.length], o.weights),
        }));
        return { executedTactic: o.executedTactic, ...(o.ms !== undefined ? { ms: o.ms } : {}) };
      }
      case 'release': {
        const h = handles.get(r.handle as string);
        handles.delete(r.handle as string);
        if (h !== undefined) await kernel.release(h.handle);
        return {};
      }
      case 'shutdown':
        return {};
      default:
        throw new Error(`op: expected hello, tactics, prepare, run, release or shutdown, got ${JSON.stringify(r.op)}`);
    }
  }

  let buffered = '';
  let queue = Promise.resolve();
  input.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.trim() === '') continue;
      queue = queue.then(async () => {
        const r = JSON.parse(line) as Request;
        try {
          await answer({ id: r.id, ok: true, ...(await handle(r)) });
        } catch (e) {
          const err = e as Error & { kind?: string };
          const kind = err.kind ?? (err.name === 'UnsupportedProblemError' ? 'unsupported' : err.name === 'BadArgumentError' && /tactic/.test(err.message) ? 'bad_tactic' : 'failure');
          await answer({ id: r.id, ok: false, error: { kind, message: `${err.name}: ${err.message}` } });
        }
        if (r.op === 'shutdown') {
          await kernel.close();
          process.exit(0);
        }
      });
    }
  });
  input.on('end', () => { void queue.then(async () => { await kernel.close(); process.exit(0); }); });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { kernel: { type: 'string', default: 'emulated' }, fault: { type: 'string' } } });
  const choice = parseKernelSpec(values.kernel!, values.fault as FaultName | undefined);
  await serveProvider(await createKernel(choice));
}

if (process.argv[1] !== undefined && /nodeAdapter\.(ts|js)$/.test(process.argv[1])) {
  main().catch((e: unknown) => {
    console.error(`nodeAdapter: ${(e as Error).message}`);
    process.exit(2);
  });
}
