"""CPU model of the decode kernel's index math (native/src/cuda/gemm_stream.cuh), run on a CPU:
the prepared weight layout (engine repack; 16-row interleaved, native/src/cuda/weight_layout.cuh:
built here from its definition by reshaping, then read through the kernel's offset functions,
clamp included), the lane-order token staging with its swizzle,
the prmt-based e2m1 -> bf16 lookup (prmt emulated per the PTX ISA), and the mma.sync
m16n8k16 fragment layout; checks that one m16 x BT tile equals W @ x^T (block scales are
not modelled: the kernel multiplies each value by its scale exactly); and the loop's schedule of
prefetched weights (main's, and the 2-step bodies of kernel/stream-rot and kernel/stream-leanrot)
over every split. A transcription of the kernel, so a change there must be mirrored here.

  python3 native/bench/stream_layout_model.py
"""

import numpy as np, struct
rng = np.random.default_rng(5)
E2M1 = [0,0.5,1,1.5,2,3,4,6]
def e2m1(c): v = E2M1[c & 7]; return -v if c & 8 else v
def prmt(a, b, c):
    by = [(a >> (8*i)) & 0xff for i in range(4)] + [(b >> (8*i)) & 0xff for i in range(4)]
    out = 0
    for i in range(4):
        sel = (c >> (4*i)) & 0xf
        v = by[sel & 7]
        if sel & 8: v = 0xff if v & 0x80 else 0
        out |= v << (8*i)
    return out
def bf16(bits):
    return struct.unpack('<f', struct.pack('<I', (bits & 0xffff) << 16))[0]
def e2m1x8(w):
    m = w & 0x77777777; mh = m >> 16; wh = w >> 16
    h0 = prmt(0x3F3F3F00, 0x40404040, m); h1 = prmt(0x3F3F3F00, 0x40404040, mh)
    l0 = prmt(0xC0800000, 0xC0804000, m); l1 = prmt(0xC0800000, 0xC0804000, mh)
    s0 = prmt(0x7F7F7F7F, 0x7F7F7F7F, w); s1 = prmt(0x7F7F7F7F, 0x7F7F7F7F, wh)
    h0 |= ~(s0 << 1) & 0x80808080; h1 |= ~(s1 << 1) & 0x80808080
    return [prmt(l0, h0, 0x5140), prmt(l0, h0, 0x7362), prmt(l1, h1, 0x5140), prmt(l1, h1, 0x7362)]
# table check: every byte
for byte in range(256):
    w = byte * 0x01010101
    o = e2m1x8(w)[0]
    assert bf16(o) == e2m1(byte & 15) and bf16(o >> 16) == e2m1(byte >> 4), byte
    assert ((o & 0xffff) == 0x8000) == ((byte & 15) == 8)
print("prmt table ok")

# weight_layout.cuh's offset functions, transcribed (the kernel's arithmetic). The tests below
# build the layout from its definition instead (a reshape), so a wrong formula here fails them.
def wKPairs(kTiles): return (kTiles + 1) >> 1
def wExpertDataBytes(rows, kPairs): return rows * kPairs * 64
def wExpertScaleBytes(rows, kPairs): return rows * kPairs * 8
def wDataRowBase(row, kPairs): return (row >> 4) * kPairs * 1024 + (row & 15) * 64
def wScaleRowBase(row, kPairs): return (row >> 4) * kPairs * 128 + (row & 15) * 8
def wDataTileOffset(kt): return (kt >> 1) * 1024 + (kt & 1) * 32
def wScaleTileOffset(kt): return (kt >> 1) * 128 + (kt & 1) * 4
def wDataOffset(row, kt, kPairs): return wDataRowBase(row, kPairs) + wDataTileOffset(kt)
def wScaleOffset(row, kt, kPairs): return wScaleRowBase(row, kPairs) + wScaleTileOffset(kt)

PERM = [4*(i & 7) + (i >> 3) for i in range(32)]  # repack: out[8q+j] = in[4j+q], i = 8q+j

def prepare(canon, K, rowsPerExpert):
    """The prepared data of canonical rows canon [El·rows][K/2], from the layout's definition:
    per (expert, 16-row group, K pair) a 1 KB block of [16 rows][2 tiles][32 bytes], the tile
    past an odd kTiles zero. Also checks that the repack's scatter through wDataOffset (the rows
    of all experts as one matrix, kernels.cu) writes exactly this."""
    nRows = canon.shape[0]; El = nRows // rowsPerExpert
    kTiles = (K + 63) // 64; kPairs = wKPairs(kTiles)
    padded = np.zeros((nRows, 2*kPairs*32), np.uint8); padded[:, :K//2] = canon
    tiles = padded.reshape(nRows, 2*kPairs, 32)[:, :, PERM]                   # [row][kt][32], shuffled
    blocks = tiles.reshape(El, rowsPerExpert // 16, 16, kPairs, 2, 32).transpose(0, 1, 3, 2, 4, 5)
    flat = np.ascontiguousarray(blocks).reshape(-1)
    assert flat.size == El * wExpertDataBytes(rowsPerExpert, kPairs)
    scat = np.full(flat.size, 0xAB, np.uint8)
    for r in range(nRows):
        for kt in range(2*kPairs):
            o = wDataOffset(r, kt, kPairs); scat[o:o+32] = tiles[r, kt]
    assert np.array_equal(scat, flat), "repack offsets disagree with the layout's definition"
    return flat

def prepare_scales(words, rowsPerExpert):
    """Scale words [El·rows][kTiles] (uint32) -> the prepared scales (padding word 0), from the
    definition, checked against the repack's scatter through wScaleOffset."""
    nRows, kTiles = words.shape; El = nRows // rowsPerExpert; kPairs = wKPairs(kTiles)
    padded = np.zeros((nRows, 2*kPairs), np.uint32); padded[:, :kTiles] = words
    blocks = padded.reshape(El, rowsPerExpert // 16, 16, kPairs, 2).transpose(0, 1, 3, 2, 4)
    flat = np.ascontiguousarray(blocks).reshape(-1).astype('<u4').view(np.uint8)
    assert flat.size == El * wExpertScaleBytes(rowsPerExpert, kPairs)
    scat = np.full(flat.size, 0xAB, np.uint8)
    for r in range(nRows):
        for kt in range(2*kPairs):
            o = wScaleOffset(r, kt, kPairs); scat[o:o+4] = np.array([padded[r, kt]], '<u4').view(np.uint8)
    assert np.array_equal(scat, flat), "repack scale offsets disagree with the layout's definition"
    return flat

def run(K, BT=8, NT=1, CH=8):  # CH: super-steps per token chunk (StreamChunk<BT>::kSteps)
    kTiles = (K + 63) // 64; kPairs = wKPairs(kTiles); kLast = kTiles - 1
    # canonical weights of 2 experts x 48 rows (3 groups of 16); the modelled warp (one m16 tile)
    # holds rows 16..31 of expert 1, so the expert and group strides are exercised: codes [16][K]
    El, R, ex, row0 = 2, 48, 1, 16
    allCodes = rng.integers(0, 16, (El * R, K))
    codes = allCodes[ex*R + row0: ex*R + row0 + 16]
    x = rng.standard_normal((BT, K))
    canon = (allCodes[:, 0::2] | (allCodes[:, 1::2] << 4)).astype(np.uint8)
    prep = prepare(canon, K, R)
    # scale words: a (row, K tile) tag, to check that each lane's word is its row's and K tile's
    tags = (np.arange(El * R)[:, None] * 4096 + np.arange(kTiles)[None, :] + 1).astype(np.uint32)
    prepS = prepare_scales(tags, R)
    dataBase = ex * wExpertDataBytes(R, kPairs); scaleBase = ex * wExpertScaleBytes(R, kPairs)
    wRows = [row0 + g for g in range(16)]  # weightRow(warp*16 + g), w >= 0
    # the kernel's hoisted bases: rowA/rowB (+ (q&1)*16), scA/scB
    rowBase = lambda w: dataBase + wDataRowBase(max(w, 0), kPairs)
    scBase = lambda w: scaleBase + wScaleRowBase(max(w, 0), kPairs)
    # a warp past the matrix (w < 0, all 16 rows: I, H are multiples of 16) reads row 0's group
    for s in range(kPairs + 1):
        for lane in range(32):
            g, q = lane >> 2, lane & 3
            ktc = min(2*s + (q >> 1), kLast)
            o = rowBase(-1) + (q & 1)*16 + wDataTileOffset(ktc)
            assert dataBase <= o and o + 16 <= dataBase + wExpertDataBytes(R, kPairs)
            assert bytes(prep[o:o+16]) == bytes(prep[dataBase + wDataOffset(0, ktc, kPairs) + (q & 1)*16:][:16])
    # staging (chunks of 1024), smem[t][unit][4 u32] each u32 = 2 values
    nSteps = (kTiles + 1) // 2
    acc = np.zeros((16, BT))
    for c in range((nSteps + CH - 1) // CH):
        sm = {}
        for t in range(BT):
            for grp in range(CH * 16):
                k0 = c*CH*128 + grp*8
                v = [(x[t, k0+2*q0], x[t, k0+2*q0+1]) if k0 < K else (0.0, 0.0) for q0 in range(4)]
                kt = k0 >> 6; j = (k0 >> 3) & 7; ls = (kt >> 1) & (CH - 1)
                for q0 in range(4):
                    h = q0 >> 1; b = 8*(q0 & 1) + j; slot = 2*(kt & 1) + h
                    unit = ls*16 + slot*4 + ((b >> 2) ^ (slot & 2))
                    key = (t, unit, b & 3)
                    assert key not in sm
                    sm[key] = v[q0]
        for s in range(c*CH, min(nSteps, c*CH+CH)):
            ls = s & (CH - 1)
            regsA = {}; regsB = {}
            addrA, addrB = [], []
            for lane in range(32):
                g, q = lane >> 2, lane & 3
                kt = 2*s + (q >> 1)
                ktc = min(kt, kLast)  # the kernel's clamp: past K, the last real K tile again, scale 0
                ok = kt < kTiles
                off = wDataTileOffset(ktc)  # loadStep: rowA + off, rowA = row base + (q & 1)*16
                aA = rowBase(wRows[g]) + (q & 1)*16 + off; aB = rowBase(wRows[g+8]) + (q & 1)*16 + off
                addrA.append(aA); addrB.append(aB)
                for w in (wRows[g], wRows[g+8]):  # scaleWord(scA, ktc): the word of (w, ktc)
                    sw = int(np.frombuffer(prepS[scBase(w) + wScaleTileOffset(ktc):][:4].tobytes(), '<u4')[0])
                    assert sw == (ex*R + w) * 4096 + ktc + 1, (w, ktc, sw)
                def raw(a):  # past K (not ok): finite e2m1 times scale 0 adds exact zeros
                    return [int.from_bytes(bytes(prep[a+4*i:a+4*i+4]), 'little') for i in range(4)] if ok else [0]*4
                rA, rB = raw(aA), raw(aB)
                xr = [[sm[(nt*8+g, ls*16 + q*4 + (i ^ (q & 2)), cc)] for i in range(4) for cc in range(4)] for nt in range(NT)]
                for wi in range(4):
                    ea, eb = e2m1x8(rA[wi]), e2m1x8(rB[wi])
                    for half in range(2):
                        m = 2*wi + half
                        regsA[(lane, m)] = [ea[2*half], eb[2*half], ea[2*half+1], eb[2*half+1]]
                        regsB[(lane, m)] = [(xr[nt][2*m], xr[nt][2*m+1]) for nt in range(NT)]
            for m in range(8):
                for nt in range(NT):
                    A = np.zeros((16, 16)); B = np.zeros((16, 8))
                    for lane in range(32):
                        g, q = lane >> 2, lane & 3
                        a = regsA[(lane, m)]
                        for e in range(2):
                            A[g, 2*q+e] = bf16(a[0] >> (16*e)); A[g+8, 2*q+e] = bf16(a[1] >> (16*e))
                            A[g, 2*q+8+e] = bf16(a[2] >> (16*e)); A[g+8, 2*q+8+e] = bf16(a[3] >> (16*e))
                        b0, b1 = regsB[(lane, m)][nt]
                        B[2*q, g], B[2*q+1, g] = b0; B[2*q+8, g], B[2*q+9, g] = b1
                    acc[:, nt*8:nt*8+8] += A @ B
            if 2*s + 1 < kTiles:  # unclamped: rows g read 512 contiguous bytes (the group's block), rows g+8 the next 512
                blk = dataBase + wDataOffset(row0, 2*s, kPairs)
                assert sorted(addrA) == list(range(blk, blk + 512, 16)), (s, sorted(addrA)[:4])
                assert sorted(addrB) == list(range(blk + 512, blk + 1024, 16)), (s, sorted(addrB)[:4])
    W = np.vectorize(e2m1, otypes=[float])(codes).astype(float)
    ref = W @ x.T
    err = np.abs(acc - ref).max() / np.abs(ref).max()
    print(f"K={K} BT={BT}: max rel err {err:.2e}" + (f" (chunks of {CH} super-steps)" if CH != 8 else ""))
    assert err < 1e-12
    return None
for K in (64, 192, 1024, 1088, 2112):
    run(K)
run(320, BT=16, NT=2)
for K in (320, 1088, 2112):  # kernel/stream-bt16: 16-token tiles stage chunks of 4 super-steps
    run(K, BT=16, NT=2, CH=4)
print("prepared layout (16-row interleaved): repack offsets, clamped per-lane reads, scale words, 2 x 512-byte warp spans: ok")

def check_header_offsets():
    """native/src/cuda/weight_layout.cuh itself (what the kernels compile), built for the host with
    the machine's C++ compiler, against the functions above (which the reshape checks tie to the
    layout's definition): so a header and a model that drift apart fail here."""
    import os, shutil, subprocess, tempfile
    cxx = os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++")
    assert cxx, "no C++ compiler (c++ or g++; or set CXX) to build weight_layout.cuh for the host"
    here = os.path.dirname(os.path.abspath(__file__))
    inc = os.path.join(here, "..", "src", "cuda")
    cases = [(row, kt, kPairs) for kPairs in (1, 2, 3, 17, 56) for row in range(0, 48) for kt in range(2 * kPairs)]
    cases += [(row, kt, 56) for row in (4095, 4096, 14335) for kt in (0, 1, 110, 111)]  # large rows: 64-bit offsets
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "wl.cc"); exe = os.path.join(d, "wl")
        with open(src, "w") as f:
            f.write('#include "weight_layout.cuh"\n#include <cstdio>\nint main() {\n  long long row; int kt, kp;\n'
                    '  while (std::scanf("%lld %d %d", &row, &kt, &kp) == 3)\n'
                    '    std::printf("%lld %lld %lld %lld %d\\n", (long long)moe::wDataOffset(row, kt, kp), (long long)moe::wScaleOffset(row, kt, kp),\n'
                    '                (long long)moe::wExpertDataBytes(row, kp), (long long)moe::wExpertScaleBytes(row, kp), moe::wKPairs(kt));\n'
                    '  return 0;\n}\n')
        subprocess.run([cxx, "-std=c++17", "-O1", "-I", inc, src, "-o", exe], check=True)
        out = subprocess.run([exe], input="".join(f"{r} {k} {p}\n" for r, k, p in cases), capture_output=True, text=True, check=True).stdout.split("\n")
    for (r, k, p), line in zip(cases, out):
        got = [int(v) for v in line.split()]
        want = [wDataOffset(r, k, p), wScaleOffset(r, k, p), wExpertDataBytes(r, p), wExpertScaleBytes(r, p), wKPairs(k)]
        assert got == want, f"weight_layout.cuh at row {r}, kt {k}, kPairs {p}: {got} against the model's {want}"
    print(f"weight_layout.cuh (built for the host) agrees with the model at {len(cases)} points: ok")

check_header_offsets()

# gemm_smemdq.cuh's dequantStage: thread (r, jj) reads the words at bytes 8*q0 + 4*jj of a row's
# 32 prepared bytes and writes chunk j = 4*jj + i as words q0 = 0..3 (byte i of word q0): the
# tile must come out in natural K order (chunk j = elements 8j..8j+7, word q0 = 8j+2q0, +1).
# 64 random e2m1 codes of one row's K step and the 32 bytes the engine's repack stores for them.
def prepared_k_step():
    codes = rng.integers(0, 16, 64)
    canon = [int(codes[2*b] | (codes[2*b+1] << 4)) for b in range(32)]
    prep = [0]*32
    for q in range(4):
        for j in range(8):
            prep[8*q + j] = canon[4*j + q]
    return codes, prep

def put_chunk_pair(tile, j, q0, word):
    """Chunk j's elements 2·q0 and 2·q0+1 of the bf16 tile: the two halves of one converted word."""
    tile[8*j + 2*q0] = bf16(word); tile[8*j + 2*q0 + 1] = bf16(word >> 16)

def check_smemdq_order():
    codes, prep = prepared_k_step()
    tile = [None]*64
    for jj in range(2):
        words = [int.from_bytes(bytes(prep[8*q0 + 4*jj: 8*q0 + 4*jj + 4]), 'little') for q0 in range(4)]
        e = [e2m1x8(w) for w in words]
        for i in range(4):
            j = 4*jj + i
            for q0 in range(4):
                put_chunk_pair(tile, j, q0, e[q0][i])
    assert tile == [e2m1(int(c)) for c in codes], (tile, codes)
    print("smemdq dequantized tile in natural K order: ok")

check_smemdq_order()

# gemm_smemdq.cuh's dequantStage since run 4: thread tid takes row r = tid // 2 and the 16 bytes
# at 16*h (h = tid % 2) of its 32 prepared bytes: words t = 0..3 are q0 = 2h + t // 2, jj = t % 2;
# it writes words 2h, 2h+1 (8 bytes) of chunks j = 4*jj + i. The tile must be the same as above.
def check_smemdq_half_row():
    codes, prep = prepared_k_step()
    tile = [None]*64
    for h in range(2):
        words = [int.from_bytes(bytes(prep[16*h + 4*t: 16*h + 4*t + 4]), 'little') for t in range(4)]
        e = [e2m1x8(w) for w in words]
        for jj in range(2):
            for i in range(4):
                j = 4*jj + i
                for q0, t in ((2*h, jj), (2*h + 1, 2 + jj)):
                    put_chunk_pair(tile, j, q0, e[t][i])
    assert tile == [e2m1(int(c)) for c in codes], (tile, codes)
    print("smemdq half-row mapping: the same tile: ok")

# Shared-memory wavefronts of one warp-wide access (a model of the hardware rule: accesses of
# more than 4 bytes are split into phases of 128 bytes' worth of threads — 16 threads for 8-byte,
# 8 for 16-byte; within a phase, a bank serving k distinct 4-byte words costs k wavefronts).
def wavefronts(addrs, size):
    per = {4: 32, 8: 16, 16: 8}[size]
    total = 0
    for p0 in range(0, 32, per):
        banks = {}
        for a in addrs[p0:p0 + per]:
            for w in range(size // 4):
                word = a // 4 + w
                banks.setdefault(word % 32, set()).add(word)
        total += max(len(v) for v in banks.values())
    return total

def swz(r, j): return r * 128 + ((j ^ (r & 7)) << 4)

def smemdq_mapping_costs():
    rows = {}
    # run 3 (main): thread (r = tid/2, jj = tid%2) reads words 2q0+jj (4 bytes each), stores 4 x 16 B.
    rd = sum(wavefronts([(t >> 1) * 32 + 8*q0 + 4*(t & 1) for t in range(32)], 4) for q0 in range(4))
    wr = sum(wavefronts([swz(t >> 1, 4*(t & 1) + i) for t in range(32)], 16) for i in range(4))
    rows['run 3 (main)'] = (rd, wr, 1)
    # run 4 first fix: word wi = tid + 256m: row wi/8, word wi%8 (4-byte reads), 4 x 4 x 4-byte stores.
    rd = sum(wavefronts([((t + 256*m) >> 3) * 32 + 4*((t + 256*m) & 7) for t in range(32)], 4) for m in range(4))
    wr = 0
    for m in range(4):
        for i in range(4):
            ad = []
            for t in range(32):
                wi = t + 256*m; r = wi >> 3; w = wi & 7; q0, jj = w >> 1, w & 1
                ad.append(swz(r, 4*jj + i) + 4*q0)
            wr += wavefronts(ad, 4)
    rows['run 4 (four rows)'] = (rd, wr, 4)
    # since run 4: one 16-byte read per thread, 8 x 8-byte stores.
    rd = wavefronts([(t >> 1) * 32 + 16*(t & 1) for t in range(32)], 16)
    wr = sum(wavefronts([swz(t >> 1, j) + 8*(t & 1) for t in range(32)], 8) for j in range(8))
    rows['half row (16 B read)'] = (rd, wr, 1)
    print("smemdq dequantization, one warp, one K step (16 rows x 32 bytes -> 16 rows x 128 bytes):")
    print("  mapping               read wavefronts  write wavefronts  scale words/thread")
    for k, (rd, wr, sc) in rows.items():
        print(f"  {k:22s}{rd:10d}{wr:18d}{sc:16d}")
    # the minimum: 512 bytes read = 4 wavefronts, 2048 bytes written = 16
    assert rows['half row (16 B read)'][:2] == (4, 16)
    return rows

check_smemdq_half_row()
smemdq_mapping_costs()

# Config 3's loop schedule: which super-step's weights each computed step uses. The weights are
# loaded PF super-steps ahead into register slots; the loop body computes U steps. Main: U = PF = 4
# (slot u is super-step s0 + u, no moves), a computed step past the slice's end skipped and a
# load past it zeroed. kernel/stream-rot: U = 2 (after the body the slots move down by U and the
# freed ones take the next loads). kernel/stream-leanrot: U = 2 and no predicates — every load
# is from inside the row (K step clamped to the last one read) with scale 0 where kt is past the
# K steps read, and the body always computes U steps, so an odd end computes one step past it.
# Checked for every slice of every split the kernel makes (whole chunks of 8 super-steps per
# slice, as tactics.cc and the kernel split): each super-step of the slice computed exactly once
# from its own K steps; every other computed step adds exact zeros (scale 0 on both halves).
def check_schedule(U, PF, lean, CH=8):
    bad = []
    for kTiles in range(1, 90):
        nSteps = (kTiles + 1) // 2
        chunks = (nSteps + CH - 1) // CH
        for kTilesRead in (kTiles, kTiles - 1):  # the second: the faults build's skipped last K block
            kLast = max(kTilesRead - 1, 0)
            for z in range(1, 5):
                per = (chunks + z - 1) // z
                for bz in range(z):
                    sBegin = min(nSteps, bz * per * CH); sEnd = min(nSteps, sBegin + per * CH)
                    def load(s):  # per half h = q >> 1: (K step whose bytes are loaded, scale nonzero)
                        if lean:
                            return tuple((min(2*s + h, kLast), 2*s + h < kTilesRead) for h in (0, 1))
                        ok = [s < sEnd and 2*s + h < kTilesRead for h in (0, 1)]
                        return tuple((2*s + h if ok[h] else None, ok[h]) for h in (0, 1))
                    slots = [load(sBegin + u) for u in range(PF)]
                    seen = []
                    s0 = sBegin
                    while s0 < sEnd:
                        for u in range(U):
                            s = s0 + u
                            if lean or s < sEnd:
                                seen.append((s, slots[u]))
                        if U < PF:
                            slots[:PF - U] = slots[U:]
                            for u in range(PF - U, PF): slots[u] = load(s0 + u + U)
                        else:
                            for u in range(PF): slots[u] = load(s0 + u + PF)
                        s0 += U
                    mine = [s for s, _ in seen if sBegin <= s < sEnd]
                    if sorted(mine) != list(range(sBegin, sEnd)): bad.append((kTiles, kTilesRead, z, bz, 'coverage'))
                    for s, halves in seen:
                        for h, (kt, nonzero) in enumerate(halves):
                            want = sBegin <= s < sEnd and 2*s + h < kTilesRead
                            if nonzero != want or (want and kt != 2*s + h): bad.append((kTiles, kTilesRead, z, bz, s, h))
    assert not bad, bad[:5]
    print(f"schedule U={U} PF={PF} {'unpredicated' if lean else 'predicated'}" + (f" chunks of {CH}" if CH != 8 else "") + ": ok")

check_schedule(4, 4, False)  # main
check_schedule(2, 4, False)  # kernel/stream-rot
check_schedule(2, 4, True)   # kernel/stream-leanrot
check_schedule(2, 4, True, CH=4)  # with kernel/stream-bt16's 16-token chunks (kernel/decode-max)
