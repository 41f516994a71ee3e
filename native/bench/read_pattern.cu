// moe_read_pattern: how fast config 3's weight reads can go, apart from everything else the
// decode kernel does (issue 18, NOTES run 10). Config 3 moves ~1.85-1.96 TB/s of weights per
// tile at T = 8 and T = 64 alike, on an H100 and an H200 alike (whose copies differ by 38 %),
// and ncu shows it issue-bound at T = 64 (6.0 instructions a weight, call 16). Two questions
// before cutting instructions: does its access pattern (each lane 16 bytes of two rows, a quad
// 64 contiguous bytes of a row, a CTA 64 rows x 64 bytes per super-step: 64-byte pieces of
// ~40,000 rows at once) reach the copy's rate by itself, and how does the rate grow as the
// instructions a word fall?
// This driver reads one buffer of weight-like bytes with the kernel's CTA shape (4 warps, 64
// rows, 5 CTAs per SM held by shared memory as main's 8-token kernel is, 16-byte non-allocating
// loads, PF super-steps in flight in registers) in three layouts, with no ALU work, with 8
// rounds a word (~25 instructions) and with 15 (~47, the kernel's count) standing in for the
// dequantization, and times a device-to-device copy of the same bytes in the same run:
//   rows     config 3's: lane (g, q) of warp w reads rows 16w+g and 16w+g+8 at 64s + 16q
//   inter16  a warp's 16 rows interleaved: 1 KB contiguous per warp and super-step
//   contig   a CTA's 64 rows as one run: 4 KB contiguous per CTA and super-step
//   rows+scales  rows, plus the kernel's block-scale words (1/8 of the bytes, another array)
// Every variant reads every byte once; each tile's word sum is checked against the first
// variant's, so a variant that skips bytes fails instead of looking fast.
//   moe_read_pattern [--mib 1024] [--row-bytes 3584] [--reps 7] [--ctas-per-sm 5]
// (--row-bytes 3584: DeepSeek-V3 FC1's rows, K = 7168; 1024: its FC2's, K = 2048.)
// Exit: 0 done, 1 a CUDA error or a checksum mismatch, 2 bad option (named).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "errors.h"
#include "median.h"

namespace {

struct BadUsage : std::runtime_error {
  using std::runtime_error::runtime_error;
};
void ok(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw moe::CudaFailure(cudaGetErrorName(e), cudaGetErrorString(e), what, "");
}

constexpr int kRows = 64, kThreads = 128, kStepBytes = 64;  // config 3's CTA: 64 rows, 4 warps, 64 bytes a row per super-step
enum Layout { kRowsLayout = 0, kInter16 = 1, kContig = 2 };

__device__ __forceinline__ uint4 ldgNoAlloc(const uint8_t* p) {
  uint4 v;
  asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];\n" : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p));
  return v;
}

// Stand-in for the dequantization of one 32-bit word: WORK rounds of a byte permute, a shift
// and a three-input logic op, ~3 instructions a round (the kernel issues ~48 instructions per
// word of 8 weights, call 16's counts: 6.0 a weight; 15 rounds and the checksum's add come to
// ~47). Dependent within a word, independent across words.
template <int WORK>
__device__ __forceinline__ uint32_t work(uint32_t x) {
#pragma unroll
  for (int i = 0; i < WORK; ++i) {
    x = __byte_perm(x, 0x3c2d1e0fu + i, 0x5140 + (i & 7));
    x = (x ^ (x >> 3)) | (uint32_t(i) << 24);
  }
  return x;
}

// One CTA: one tile of 64 rows of rowBytes. The word sum (wrapping) of its bytes goes to sums[tile].
// SC: also the kernel's block-scale reads (rows layout only): 4 bytes per row and 32 weight
// bytes from a separate array [rows][rowBytes / 8], lane (g, q) the word of K step 2s + (q >> 1)
// of its two rows, as config 3 does; folded into the live value, not the checksum.
template <int LAYOUT, int PF, int WORK, bool SC = false>
__global__ void __launch_bounds__(kThreads, 5) readTile(const uint8_t* __restrict__ w, const uint8_t* __restrict__ sc, int64_t rowBytes,
                                                        uint32_t* sums) {
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, g = lane >> 2, q = lane & 3;
  const uint8_t* tile = w + int64_t(blockIdx.x) * kRows * rowBytes;
  const int nSteps = int(rowBytes / kStepBytes);
  const uint8_t *pa, *pb;
  int64_t stride;  // bytes from one super-step to the next, per pointer
  if (LAYOUT == kRowsLayout) {
    pa = tile + int64_t(16 * warp + g) * rowBytes + 16 * q;
    pb = pa + 8 * rowBytes;
    stride = kStepBytes;
  } else if (LAYOUT == kInter16) {
    pa = tile + int64_t(16 * warp) * rowBytes + 16 * lane;
    pb = pa + 512;
    stride = 1024;
  } else {
    pa = tile + 16 * tid;
    pb = pa + 2048;
    stride = 4096;
  }
  const int64_t scRow = rowBytes / 8;
  const uint8_t* sa = sc + (int64_t(blockIdx.x) * kRows + 16 * warp + g) * scRow + 4 * (q >> 1);
  const uint8_t* sb = sa + 8 * scRow;
  auto scale = [&](const uint8_t* p, int s) { return s < nSteps ? __ldg(reinterpret_cast<const uint32_t*>(p + 8 * s)) : 0u; };
  uint4 a[PF], b[PF];
  uint32_t wa[PF], wb[PF];
#pragma unroll
  for (int u = 0; u < PF; ++u) {
    a[u] = u < nSteps ? ldgNoAlloc(pa + u * stride) : make_uint4(0, 0, 0, 0);
    b[u] = u < nSteps ? ldgNoAlloc(pb + u * stride) : make_uint4(0, 0, 0, 0);
    if (SC) wa[u] = scale(sa, u), wb[u] = scale(sb, u);
  }
  uint32_t sum = 0, folded = 0;
  for (int s0 = 0; s0 < nSteps; s0 += PF) {
#pragma unroll
    for (int u = 0; u < PF; ++u) {
      sum += a[u].x + a[u].y + a[u].z + a[u].w + b[u].x + b[u].y + b[u].z + b[u].w;
      if (WORK > 0)
        folded ^= work<WORK>(a[u].x) ^ work<WORK>(a[u].y) ^ work<WORK>(a[u].z) ^ work<WORK>(a[u].w) ^
                  work<WORK>(b[u].x) ^ work<WORK>(b[u].y) ^ work<WORK>(b[u].z) ^ work<WORK>(b[u].w);
      if (SC) folded ^= wa[u] ^ (wb[u] << 1);
      const int s = s0 + u + PF;
      a[u] = s < nSteps ? ldgNoAlloc(pa + s * stride) : make_uint4(0, 0, 0, 0);
      b[u] = s < nSteps ? ldgNoAlloc(pb + s * stride) : make_uint4(0, 0, 0, 0);
      if (SC) wa[u] = scale(sa, s), wb[u] = scale(sb, s);
    }
  }
  // The work's result must be live (or the compiler drops the work and the scale loads). It
  // changes the sum only where a thread's fold is exactly 0x5a5a5a5a (odds 2^-32 a thread): then
  // the checksum check reports a mismatch, never a silent pass.
  if (folded == 0x5a5a5a5au) sum ^= 1u;
  __shared__ uint32_t part[kThreads];
  part[tid] = sum;
  __syncthreads();
  if (tid == 0) {
    uint32_t t = 0;
    for (int i = 0; i < kThreads; ++i) t += part[i];
    sums[blockIdx.x] = t;
  }
}

__global__ void fillWords(uint32_t* p, int64_t n, uint32_t seed) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    uint32_t x = uint32_t(i) * 0x9e3779b1u ^ seed;
    x ^= x >> 15;
    x *= 0x85ebca6bu;
    p[i] = x ^ (x >> 13);
  }
}

struct Variant {
  const char* name;
  int pf, work;
  bool scales;  // reads the scale array too: 1/8 more bytes, counted
  void (*kernel)(const uint8_t*, const uint8_t*, int64_t, uint32_t*);
};

int run(int argc, char** argv) {
  int64_t mib = 1024, rowBytes = 3584;
  int64_t reps = 7, ctasPerSm = 5;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw BadUsage(a + ": expected a value, got nothing");
      return argv[++i];
    };
    // An integer, or the option named with what it got.
    auto integer = [&](const char* expected) -> int64_t {
      const std::string v = value();
      char* end = nullptr;
      const long long n = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0') throw BadUsage(a + ": expected " + expected + ", got " + v);
      return n;
    };
    if (a == "--mib") mib = integer("an integer in [64, 16384]");
    else if (a == "--row-bytes") rowBytes = integer("a multiple of 64 in [64, 65536] (whole super-steps)");
    else if (a == "--reps") reps = integer("an integer in [1, 100]");
    else if (a == "--ctas-per-sm") ctasPerSm = integer("an integer in [1, 5] (the kernels' launch bounds allow 5)");
    else throw BadUsage("unknown option " + a + " (expected --mib, --row-bytes, --reps, --ctas-per-sm)");
  }
  if (mib < 64 || mib > 16384) throw BadUsage("--mib: expected an integer in [64, 16384], got " + std::to_string(mib));
  if (rowBytes < 64 || rowBytes % 64 != 0 || rowBytes > 65536)
    throw BadUsage("--row-bytes: expected a multiple of 64 in [64, 65536] (whole super-steps), got " +
                   std::to_string(rowBytes));
  if (reps < 1 || reps > 100) throw BadUsage("--reps: expected an integer in [1, 100], got " + std::to_string(reps));
  if (ctasPerSm < 1 || ctasPerSm > 5)
    throw BadUsage("--ctas-per-sm: expected an integer in [1, 5] (the kernels' launch bounds allow 5), got " + std::to_string(ctasPerSm));

  const int64_t tileBytes = kRows * rowBytes;
  const int tiles = int((mib << 20) / tileBytes);
  const int64_t bytes = int64_t(tiles) * tileBytes;
  uint8_t *w = nullptr, *dst = nullptr, *sc = nullptr;
  uint32_t* sums = nullptr;
  ok(cudaMalloc(&w, bytes), "cudaMalloc(weights)");
  ok(cudaMalloc(&dst, bytes), "cudaMalloc(copy destination)");
  ok(cudaMalloc(&sc, bytes / 8), "cudaMalloc(scales)");
  ok(cudaMalloc(&sums, tiles * sizeof(uint32_t)), "cudaMalloc(sums)");
  fillWords<<<1024, 256>>>(reinterpret_cast<uint32_t*>(w), bytes / 4, 18u);
  fillWords<<<1024, 256>>>(reinterpret_cast<uint32_t*>(sc), bytes / 32, 19u);
  ok(cudaGetLastError(), "fill");
  cudaDeviceProp d{};
  ok(cudaGetDeviceProperties(&d, 0), "cudaGetDeviceProperties");
  // Residency as the kernel under study: shared memory (unused) holds each SM to ctasPerSm CTAs,
  // whatever the registers of a variant would allow.
  const int smem = int((d.sharedMemPerMultiprocessor / ctasPerSm - d.reservedSharedMemPerBlock) / 128 * 128) - 512;
  std::printf("device: %s, %d SMs · %d tiles of 64 rows x %lld bytes = %.1f MiB · %d CTAs per SM (%d bytes of shared memory each) · medians of %d\n",
              d.name, d.multiProcessorCount, tiles, (long long)rowBytes, bytes / 1048576.0, int(ctasPerSm), smem + 512, int(reps));

  const Variant variants[] = {
      {"rows", 4, 0, false, readTile<kRowsLayout, 4, 0>},
      {"rows", 8, 0, false, readTile<kRowsLayout, 8, 0>},
      {"rows", 4, 8, false, readTile<kRowsLayout, 4, 8>},
      {"rows", 4, 15, false, readTile<kRowsLayout, 4, 15>},
      {"rows+scales", 4, 0, true, readTile<kRowsLayout, 4, 0, true>},
      {"rows+scales", 4, 15, true, readTile<kRowsLayout, 4, 15, true>},
      {"inter16", 4, 0, false, readTile<kInter16, 4, 0>},
      {"inter16", 4, 15, false, readTile<kInter16, 4, 15>},
      {"contig", 4, 0, false, readTile<kContig, 4, 0>},
      {"contig", 4, 15, false, readTile<kContig, 4, 15>},
  };
  constexpr int nv = sizeof(variants) / sizeof(variants[0]);
  for (const Variant& v : variants)
    ok(cudaFuncSetAttribute(v.kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem), "cudaFuncSetAttribute(shared memory)");
  std::vector<std::vector<double>> ms(nv + 1);
  std::vector<uint32_t> expect, got(tiles);
  cudaEvent_t e0, e1;
  ok(cudaEventCreate(&e0), "cudaEventCreate");
  ok(cudaEventCreate(&e1), "cudaEventCreate");
  auto timed = [&](auto&& launch) {
    ok(cudaEventRecord(e0), "cudaEventRecord");
    launch();
    ok(cudaGetLastError(), "launch");
    ok(cudaEventRecord(e1), "cudaEventRecord");
    ok(cudaEventSynchronize(e1), "cudaEventSynchronize");
    float t = 0;
    ok(cudaEventElapsedTime(&t, e0, e1), "cudaEventElapsedTime");
    return double(t);
  };
  int bad = 0;
  for (int r = -1; r < reps; ++r) {  // round -1 warms up and checks the sums
    for (int v = 0; v < nv; ++v) {
      ok(cudaMemset(sums, 0, tiles * sizeof(uint32_t)), "cudaMemset(sums)");
      const double t = timed([&] { variants[v].kernel<<<tiles, kThreads, smem>>>(w, sc, rowBytes, sums); });
      if (r >= 0) ms[v].push_back(t);
      if (r < 0) {
        ok(cudaMemcpy(got.data(), sums, tiles * sizeof(uint32_t), cudaMemcpyDeviceToHost), "cudaMemcpy(sums)");
        if (v == 0) expect = got;  // each tile's word sum does not depend on the order the words were read in
        else if (got != expect) {
          std::printf("CHECKSUM MISMATCH: %s pf%d work%d read other bytes than rows pf4\n", variants[v].name, variants[v].pf, variants[v].work);
          ++bad;
        }
      }
    }
    const double t = timed([&] { ok(cudaMemcpyAsync(dst, w, bytes, cudaMemcpyDeviceToDevice), "cudaMemcpyAsync"); });
    if (r >= 0) ms[nv].push_back(t);
  }
  const double copyMs = median(ms[nv]), copyGbps = 2.0 * bytes / copyMs / 1e6;
  std::printf("copy D2D: %.3f ms, %.1f GB/s (read+write)\n", copyMs, copyGbps);
  std::printf("| layout | super-steps in flight | ALU rounds a word | ms | GB/s read | %% of copy |\n|---|---|---|---|---|---|\n");
  for (int v = 0; v < nv; ++v) {
    const double m = median(ms[v]), gbps = (variants[v].scales ? 1.125 : 1.0) * bytes / m / 1e6;
    std::printf("| %s | %d | %d | %.3f | %.1f | %.1f |\n", variants[v].name, variants[v].pf, variants[v].work, m, gbps, 100.0 * gbps / copyGbps);
  }
  cudaFree(w);
  cudaFree(dst);
  cudaFree(sc);
  cudaFree(sums);
  return bad ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const BadUsage& e) {
    std::fprintf(stderr, "moe_read_pattern: %s\nusage: moe_read_pattern [--mib 1024] [--row-bytes 3584] [--reps 7] [--ctas-per-sm 5]\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "moe_read_pattern: %s\n", e.what());
    return 1;
  }
}
