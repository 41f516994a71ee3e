// The inputs digest: one algorithm, computed on the device by the CUDA engine
// (cuda/engine.cu, digestKernel) and on the host by its twin here (hostBufferSum), so that a
// test on any machine proves what the GPU computes. docs/full-size.md explains the choice.
//
// A buffer of n bytes is read as ceil(n/16) 16-byte words (the last one zero-padded); word i
// has two little-endian 64-bit halves lo, hi and contributes
//     term(i, lo, hi) = fmix64(fmix64(lo ^ key(i)) ^ hi ^ rotl(key(i), 29)),
//     key(i)          = fmix64(i · 0x9E3779B97F4A7C15 + 0x243F6A8885A308D3)
// (fmix64: MurmurHash3's 64-bit finalizer, a bijection of uint64). The buffer's sum is
// S = Σ term(i) mod 2^64, so the device may add the terms in any order (atomic adds of
// per-warp partial sums) and still get the same value every time. The digest chains the
// buffers in their fixed order:  h ← fmix64(h + fmix64(n_b ^ C)); h ← fmix64(h ^ S_b).
//
// Guarantees: for fixed i and hi, term is a bijection of lo, and for fixed i and lo a
// bijection of hi; so changing any bits of ONE word (a single bit flip in particular) changes
// that word's term, hence S (a sum mod 2^64 changes when one addend does), hence the digest
// (each chain step is a bijection of h and of S_b). A swap of two different words i, j changes
// S unless term(i, w_j) + term(j, w_i) = term(i, w_i) + term(j, w_j) mod 2^64: the keys differ
// per position, so that is a 64-bit coincidence (probability about 2^-64), not a structural
// blind spot. A change of a buffer's length changes its chain step.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#ifdef __CUDACC__
#define MOE_DIGEST_FN __host__ __device__ __forceinline__
#else
#define MOE_DIGEST_FN inline
#endif

namespace moe {
namespace digest {

constexpr size_t kWordBytes = 16;
constexpr uint64_t kSeed = 0x6d6f652d64696765ull;  // the chain's start ("moe-dige")

MOE_DIGEST_FN uint64_t fmix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

MOE_DIGEST_FN uint64_t wordKey(uint64_t index) { return fmix64(index * 0x9E3779B97F4A7C15ull + 0x243F6A8885A308D3ull); }

// The contribution of 16-byte word `index` with halves lo (bytes 0..7) and hi (bytes 8..15).
MOE_DIGEST_FN uint64_t wordTerm(uint64_t index, uint64_t lo, uint64_t hi) {
  const uint64_t k = wordKey(index);
  return fmix64(fmix64(lo ^ k) ^ hi ^ ((k << 29) | (k >> 35)));
}

// Little-endian halves of the partial last word (n < 16 bytes), zero-padded.
MOE_DIGEST_FN void tailWord(const uint8_t* p, size_t n, uint64_t& lo, uint64_t& hi) {
  lo = 0;
  hi = 0;
  for (size_t j = 0; j < n; ++j) {
    if (j < 8) lo |= uint64_t(p[j]) << (8 * j);
    else hi |= uint64_t(p[j]) << (8 * (j - 8));
  }
}

// The host twin of the device's per-buffer sum S (bytes read on the host).
inline uint64_t hostBufferSum(const uint8_t* p, size_t n) {
  uint64_t s = 0;
  const size_t words = n / kWordBytes;
  for (size_t i = 0; i < words; ++i) {
    uint64_t lo, hi;
    std::memcpy(&lo, p + i * kWordBytes, 8);  // little-endian hosts only (x86-64, aarch64)
    std::memcpy(&hi, p + i * kWordBytes + 8, 8);
    s += wordTerm(i, lo, hi);
  }
  if (n % kWordBytes != 0) {
    uint64_t lo, hi;
    tailWord(p + words * kWordBytes, n % kWordBytes, lo, hi);
    s += wordTerm(words, lo, hi);
  }
  return s;
}

// The same sum over words [first, last) of the buffer (global word indices; the partial last
// word included when it falls in the range).
inline uint64_t hostRangeSum(const uint8_t* p, size_t n, size_t first, size_t last) {
  uint64_t s = 0;
  const size_t whole = n / kWordBytes;
  for (size_t i = first; i < last && i < whole; ++i) {
    uint64_t lo, hi;
    std::memcpy(&lo, p + i * kWordBytes, 8);
    std::memcpy(&hi, p + i * kWordBytes + 8, 8);
    s += wordTerm(i, lo, hi);
  }
  if (n % kWordBytes != 0 && first <= whole && whole < last) {
    uint64_t lo, hi;
    tailWord(p + whole * kWordBytes, n % kWordBytes, lo, hi);
    s += wordTerm(whole, lo, hi);
  }
  return s;
}

// hostBufferSum on every core for large buffers (the sum does not depend on the split):
// for hosts that must hash host memory, e.g. the C ABI door's copies (abi_host.cc).
inline uint64_t parallelHostBufferSum(const uint8_t* p, size_t n) {
  const size_t words = (n + kWordBytes - 1) / kWordBytes;
  const size_t perThreadMin = size_t(4) << 20;  // words (64 MiB): below this one thread is faster
  const size_t cores = std::max<size_t>(1, std::thread::hardware_concurrency());
  const size_t threads = std::min(cores, std::max<size_t>(1, words / perThreadMin));
  if (threads <= 1) return hostBufferSum(p, n);
  std::vector<uint64_t> part(threads, 0);
  std::vector<std::thread> pool;
  const size_t per = (words + threads - 1) / threads;
  for (size_t t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] { part[t] = hostRangeSum(p, n, t * per, std::min(words, (t + 1) * per)); });
  }
  uint64_t s = 0;
  for (size_t t = 0; t < threads; ++t) {
    pool[t].join();
    s += part[t];
  }
  return s;
}

// One chain step: the next buffer (its byte length and sum).
inline uint64_t chain(uint64_t h, uint64_t bytes, uint64_t sum) {
  h = fmix64(h + fmix64(bytes ^ 0x62797465735f6c65ull));
  return fmix64(h ^ sum);
}

inline std::string hex(uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace digest
}  // namespace moe
