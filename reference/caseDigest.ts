/**
 * sha256 over every byte of a Case's tensors, in a fixed order (spec as canonical JSON, then
 * logits, bias, hidden, fc1, fc2, output scalars, c, SwiGLU arrays), each tensor prefixed
 * by its name and byte length. Multi-byte elements are hashed little-endian, whatever the host.
 * Detects any accidental change of the generator; also a cheap identity for a case.
 */
import { createHash } from 'node:crypto';
import type { Case } from './case.js';
import type { ExpertBytes } from './expertBytes.js';

type Typed = Uint8Array | Uint16Array | Float32Array;

function littleEndianBytes(a: Typed): Uint8Array {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (a.BYTES_PER_ELEMENT === 1 || new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) return bytes;
  const out = new Uint8Array(a.byteLength);
  const w = a.BYTES_PER_ELEMENT;
  for (let i = 0; i < out.length; i += w) for (let j = 0; j < w; j++) out[i + j] = bytes[i + w - 1 - j]!;
  return out;
}

/** JSON with object keys sorted, so equal specs built in any key order hash alike. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

export function caseDigest(c: Case): string {
  const h = createHash('sha256');
  const add = (name: string, a: Typed | null): void => {
    h.update(`${name}:${a === null ? 'null' : `${a.constructor.name}(${a.byteLength})`};`);
    if (a !== null) h.update(littleEndianBytes(a));
  };
  h.update(canonicalJson(c.spec));
  add('logits', c.logits);
  add('bias', c.bias);
  const hs = c.hidden;
  if (hs.format === 'nvfp4') {
    add('hidden.packed', hs.packed);
    add('hidden.scales', hs.scales);
    add('hidden.globalScale', new Float32Array([hs.globalScale]));
  } else if (hs.format === 'mxfp8') {
    add('hidden.data', hs.data);
    add('hidden.scales', hs.scales);
  } else {
    add('hidden.bf16', hs.data);
  }
  // Per-expert storage hashes as the contiguous Uint8Array it stands for (chunk by chunk).
  const addExperts = (name: string, x: ExpertBytes): void => {
    h.update(`${name}:Uint8Array(${x.byteLength});`);
    for (const chunk of x.chunks) h.update(chunk);
  };
  for (const [name, w] of [['fc1', c.fc1], ['fc2', c.fc2]] as const) {
    addExperts(`${name}.packed`, w.packed);
    addExperts(`${name}.scales`, w.scales);
    add(`${name}.globalScale`, w.globalScale);
  }
  add('out1Scale', c.out1Scale);
  add('out1GateScale', c.out1GateScale);
  add('out2Scale', c.out2Scale);
  add('fc2InputGlobalScale', new Float32Array([c.fc2InputGlobalScale]));
  add('swiglu.alpha', c.swiglu?.alpha ?? null);
  add('swiglu.beta', c.swiglu?.beta ?? null);
  add('swiglu.limit', c.swiglu?.limit ?? null);
  return h.digest('hex');
}
