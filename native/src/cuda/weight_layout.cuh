// The prepared weight layout: where the engine's repack (kernels.cu, launched by engine.cu
// uploadWeights) puts each (weight row, K tile) of an expert's FP4 data and block scales, and
// where every GEMM kernel (gemm.cuh, gemm_smemdq.cuh, gemm_stream.cuh) and the device-memory
// estimate (deviceMemoryEstimate.h) find them. The offsets are defined here and nowhere else.
//
// A K tile is 64 elements: 32 bytes of e2m1 codes (their order inside the tile is the repack's
// nibble shuffle, out[8q + j] = in[4j + q], not this header's business) and one 4-byte scale word
// (4 NVFP4 block scales, or 2 MX block scales and 2 zero bytes). K is padded to whole tiles,
// kTiles = ceil(K / 64), and the tiles to whole pairs, kPairs = ceil(kTiles / 2).
//
// 16-row interleaving. An expert's rows (a multiple of 16: FC1 has 2I rows, FC2 H, and I, H are
// multiples of the scale block, 16 or 32; uploadWeights checks it) are cut into groups of 16.
// A (group, K pair) block holds the group's 16 rows x 2 tiles, row-major inside:
//   data   1024 bytes: row (row & 15) at 64·(row & 15), its tile (kt & 1) at 32 more;
//   scales  128 bytes: row (row & 15) at 8·(row & 15), its tile (kt & 1) at 4 more;
// blocks ordered group-major, K pair minor; experts one after another. When kTiles is odd the
// last pair's second tile is padding: zero bytes and zero scale words (the repack writes them);
// no kernel uses it (config 3 clamps its K tile to the last real one).
//
// Why: config 3 (gemm_stream.cuh) has each warp read, per super-step, one 64-byte piece of each
// of its 16 rows. With rows stored one after another (the layout before this one, data at
// (row·kTiles + kt)·32) those pieces lie kTiles·32 bytes apart, and moe_read_pattern measured
// that access pattern alone at 66 % (FC1 rows) to 80 % (FC2 rows) of the copy bandwidth, while
// the same reads from a layout where the 16 rows' pieces form one contiguous 1 KB block ran at
// 101-105 % (native/NOTES.md, run 11). A warp of config 3 now reads 2 x 512 contiguous bytes per
// super-step; configs 0-2 and 4/5 read 32 (or 16) bytes per row per K tile as before, from
// 64-byte row segments of 1 KB blocks instead of from 32-byte pieces kTiles·32 bytes apart.
//
// Offsets are relative to an expert's base: wData + l·wExpertDataBytes(rows, kPairs) (scales:
// wScales + l·wExpertScaleBytes(rows, kPairs)). Since rows % 16 == 0, the layout of n experts
// is also the layout of one matrix of n·rows rows (the repack relies on it).
//
// Kernels that hoist a row's base out of their K loop use the split forms:
//   wDataOffset(row, kt, kPairs)  == wDataRowBase(row, kPairs)  + wDataTileOffset(kt)
//   wScaleOffset(row, kt, kPairs) == wScaleRowBase(row, kPairs) + wScaleTileOffset(kt)
// The tile offsets are strictly increasing in kt, so min(tileOffset(kt), tileOffset(kLast)) ==
// tileOffset(min(kt, kLast)).
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define MOE_WL_FN __host__ __device__ __forceinline__
#else
#define MOE_WL_FN inline
#endif

namespace moe {

constexpr int kWGroupRows = 16;                  // rows per interleaved group
constexpr int kWTileBytes = 32;                  // data bytes per (row, K tile)
constexpr int kWTileScaleBytes = 4;              // scale bytes per (row, K tile)
constexpr int kWBlockBytes = kWGroupRows * 2 * kWTileBytes;            // 1024: (group, K pair) data
constexpr int kWBlockScaleBytes = kWGroupRows * 2 * kWTileScaleBytes;  // 128: (group, K pair) scales

MOE_WL_FN int wKPairs(int kTiles) { return (kTiles + 1) >> 1; }

// Bytes of one expert's data / scales (rows: a multiple of 16).
MOE_WL_FN int64_t wExpertDataBytes(int64_t rows, int kPairs) { return rows * kPairs * (2 * kWTileBytes); }
MOE_WL_FN int64_t wExpertScaleBytes(int64_t rows, int kPairs) { return rows * kPairs * (2 * kWTileScaleBytes); }

// Offset of (row, K tile 0) in an expert's data / scales.
MOE_WL_FN int64_t wDataRowBase(int64_t row, int kPairs) {
  return (row >> 4) * kPairs * int64_t(kWBlockBytes) + (row & 15) * (2 * kWTileBytes);
}
MOE_WL_FN int64_t wScaleRowBase(int64_t row, int kPairs) {
  return (row >> 4) * kPairs * int64_t(kWBlockScaleBytes) + (row & 15) * (2 * kWTileScaleBytes);
}
// Offset of K tile kt from its row's base (32-bit: exact for K < 2^28 elements).
MOE_WL_FN int wDataTileOffset(int kt) { return (kt >> 1) * kWBlockBytes + (kt & 1) * kWTileBytes; }
MOE_WL_FN int wScaleTileOffset(int kt) { return (kt >> 1) * kWBlockScaleBytes + (kt & 1) * kWTileScaleBytes; }

// Offset of the 32 data bytes / the scale word of (row, K tile kt) in an expert.
MOE_WL_FN int64_t wDataOffset(int64_t row, int kt, int kPairs) { return wDataRowBase(row, kPairs) + wDataTileOffset(kt); }
MOE_WL_FN int64_t wScaleOffset(int64_t row, int kt, int kPairs) { return wScaleRowBase(row, kPairs) + wScaleTileOffset(kt); }

}  // namespace moe
