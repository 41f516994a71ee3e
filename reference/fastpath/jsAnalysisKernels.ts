/**
 * The JS twin of the analysis kernels (analysisKernels.ts): any engine's matrices, the
 * fallback for engines without a WebAssembly heap (tfjs-node) and the reference the
 * WebAssembly kernels are tested against.
 */
import { firstNanScale } from '../checkCase.js';
import { swigluElement, type EpilogueParts } from '../epilogue.js';
import { bf16Stays, e2m1Stays, e4m3Stays, prefilterTables, slack, windowRadius } from '../errorWindow.js';
import type { Fc2InputFormat } from '../problem.js';
import { requantBlock, requantBlockCode, requantizeInPlace } from '../quant/requantize.js';
import type { AnalysisKernels, PrefilterChunk, PrefilterResult } from './analysisKernels.js';

export const NV_TABLES = prefilterTables('nvfp4');
export const MX_TABLES = prefilterTables('mxfp8');

/** The JS prefilter (any engine): the same bounds and flags as the wasm kernel. */
class JsPrefilter {
  private radius = new Float64Array(0);
  private flags = new Uint8Array(0);
  private readonly parts = { gate: 0, sig: 0, silu: 0, lin: 0 };

  run(fmt: Fc2InputFormat, c: PrefilterChunk): PrefilterResult {
    const { n, R, off, norm, pre, xn, rho, ep } = c;
    const B = requantBlock(fmt);
    const len = n * R;
    if (this.radius.length < len) this.radius = new Float64Array(len);
    if (this.flags.length < len / B) this.flags = new Uint8Array(len / B);
    const radius = this.radius;
    const flags = this.flags;
    const a = c.a.view(), ahat = c.ahat.view(), gate = c.gate.view(), sig = c.sig.view(), lin = c.lin.view();
    const parts = this.parts;
    for (let p = 0; p < n; p++) {
      for (let r0 = 0; r0 < R; r0 += B) {
        let amax = 0, sum = 0, hiB = 0, loB = 0;
        for (let r = r0; r < r0 + B; r++) {
          const e = p * R + r;
          const v = a[off + e]!;
          parts.gate = gate[e]!;
          parts.sig = sig[e]!;
          parts.silu = Math.fround(parts.gate * parts.sig);
          parts.lin = lin[e]!;
          const rb = windowRadius(rho, norm[r]! * xn[p]!, norm[R + r]! * xn[p]!, pre[p]!, ep, parts, v);
          radius[e] = rb;
          const m = Math.abs(v);
          sum += v;
          if (m > amax) amax = m;
          if (m + rb > hiB) hiB = m + rb;
          if (m - rb > loB) loB = m - rb;
        }
        const b = (p * R + r0) / B;
        flags[b] = 1;
        if (fmt === 'bf16') {
          const e = p * R + r0;
          if (bf16Stays(a[off + e]!, slack(a[off + e]!, radius[e]!), ahat[off + e]!)) flags[b] = 0;
          continue;
        }
        // The block's scale code (-1: NaN or an infinity, the exact analysis decides); its
        // bounded amax window must lie inside the code's certain amax interval.
        const c0 = requantBlockCode(fmt, sum - sum !== 0 ? NaN : amax);
        const tab = fmt === 'nvfp4' ? NV_TABLES : MX_TABLES;
        if (c0 < 0 || !(tab[256 + c0]! <= loB && hiB <= tab[512 + c0]!)) continue;
        const inv = 1 / tab[c0]!;
        let quiet = true;
        for (let r = r0; r < r0 + B && quiet; r++) {
          const e = p * R + r;
          const v = a[off + e]!;
          const rr = slack(v, radius[e]!);
          quiet = fmt === 'nvfp4' ? e2m1Stays(v, rr, ahat[off + e]!, inv) : e4m3Stays(v, rr, ahat[off + e]!, inv);
        }
        if (quiet) flags[b] = 0;
      }
    }
    return { radius, flags };
  }
}

/** The JS twin: any engine's matrices. */
const jsPrefilter = new JsPrefilter();
const jsParts: EpilogueParts = { gate: 0, sig: 0, silu: 0, lin: 0 };
let jsFlipsOut = new Float32Array(0);

export const jsAnalysisKernels: AnalysisKernels = {
  name: 'js',
  fp4Abs: null,
  nanScan(bytes, format) {
    return firstNanScale(bytes, format);
  },
  epilogue(cm, n, R, pre, am, aOff, parts, ep) {
    const c = cm.view();
    const a = am.view();
    const [gate, sig, lin] = parts === null ? [null, null, null] : parts.map((m) => m.view());
    for (let p = 0; p < n; p++) {
      const w = pre === null ? 1 : pre[p]!;
      for (let r = 0; r < R; r++) {
        const o = p * R + r;
        a[aOff + o] = swigluElement(c[r * n + p]!, c[(R + r) * n + p]!, w, ep, jsParts);
        if (gate !== null) {
          gate[o] = jsParts.gate;
          sig![o] = jsParts.sig;
          lin![o] = jsParts.lin;
        }
      }
    }
  },
  prefilter(fmt, chunk) {
    return jsPrefilter.run(fmt, chunk);
  },
  flips(w, row0, nh, groups) {
    const I = w.cols;
    const wv = w.view();
    const { count, start, col, coef } = groups;
    if (jsFlipsOut.length < count * nh) jsFlipsOut = new Float32Array(count * nh);
    const out = jsFlipsOut;
    for (let q = 0; q < nh; q++) {
      const row = (row0 + q) * I;
      for (let g = 0; g < count; g++) {
        let acc = 0;
        for (let f = start[g]!; f < start[g + 1]!; f++) acc += Math.abs(wv[row + col[f]!]!) * coef[f]!;
        out[g * nh + q] = acc;
      }
    }
    return out.subarray(0, count * nh);
  },
  transpose({ src, srcOff, rows, cols, dst, dstOff, abs, f, scale }) {
    const sv = src.view();
    const dv = dst.view();
    const d2 = abs === null ? null : abs.dst.view();
    const dst2Off = abs === null ? 0 : abs.off;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const v = f === 'copy' ? sv[srcOff + r * cols + c]! : Math.fround(sv[srcOff + r * cols + c]! * scale);
        dv[dstOff + c * rows + r] = v;
        if (d2 !== null) d2[dst2Off + c * rows + r] = Math.abs(v);
      }
    }
  },
  absDots(w, uRow, gRow, x, xRow, out) {
    const wv = w.view();
    const H = w.cols;
    const xv = x.view().subarray(xRow * H, (xRow + 1) * H);
    let su0 = 0, su1 = 0, sg0 = 0, sg1 = 0;
    const ou = uRow * H;
    const og = gRow * H;
    for (let h = 0; h < H; h += 2) {
      const x0 = Math.abs(xv[h]!);
      const x1 = Math.abs(xv[h + 1]!);
      su0 += Math.abs(wv[ou + h]!) * x0;
      su1 += Math.abs(wv[ou + h + 1]!) * x1;
      sg0 += Math.abs(wv[og + h]!) * x0;
      sg1 += Math.abs(wv[og + h + 1]!) * x1;
    }
    out[0] = su0;
    out[1] = su1;
    out[2] = sg0;
    out[3] = sg1;
  },
  requant(fmt, src, dst, off, len) {
    const d = dst.view();
    d.set(src.view().subarray(off, off + len), off);
    requantizeInPlace(fmt, d, off, len);
  },
};
