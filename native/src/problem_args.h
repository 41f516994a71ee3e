// The problem and case arguments as the native side receives them (plain C++, no N-API),
// and their validation. Enums are our own; native/index.ts maps SPEC names to them from
// the name tables exported here (enumNames), so the two sides cannot disagree.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace moe {

enum class Routing : int { Default = 0, Renormalize = 1, RenormalizeNaive = 2, DeepseekV3 = 3, Llama4 = 4, TopK = 5 };
enum class QuantMode : int { Nvfp4 = 0, Mxfp4Mxfp8 = 1, Mxfp4Bf16 = 2 };
enum class LogitsDtype : int { F32 = 0, Bf16 = 1 };
enum class BiasDtype : int { None = 0, F32 = 1, Bf16 = 2 };
enum class Activation : int { Swiglu = 0, SwigluClamped = 1 };

// Names in enum order (index = value): the one table both sides read.
const std::vector<std::string>& routingNames();
const std::vector<std::string>& quantModeNames();
const std::vector<std::string>& logitsDtypeNames();
const std::vector<std::string>& biasDtypeNames();
const std::vector<std::string>& activationNames();

// Limits this implementation supports (UnsupportedProblemError beyond them).
constexpr int64_t kMaxExperts = 1024;
constexpr int64_t kMaxTopK = 32;
constexpr int64_t kMaxSlots = int64_t(1) << 24;  // T·topK
constexpr int64_t kMaxDim = int64_t(1) << 16;     // H and I

struct ProblemArgs {
  int64_t T = 0, H = 0, I = 0, E = 0, topK = 0, localOffset = 0, localExperts = 0;
  Routing routing = Routing::Default;
  int64_t nGroup = 1, topkGroup = 1;
  double routedScalingFactor = 1.0;
  LogitsDtype logitsDtype = LogitsDtype::F32;
  BiasDtype biasDtype = BiasDtype::None;
  QuantMode quant = QuantMode::Nvfp4;
  Activation activation = Activation::Swiglu;
};

// Weight block size along the contracted dimension: 16 (NVFP4) or 32 (MX).
inline int64_t weightBlock(QuantMode q) { return q == QuantMode::Nvfp4 ? 16 : 32; }

enum class ElemType : int { Absent = 0, U8 = 1, U16 = 2, F32 = 3, Other = 4 };
const char* elemTypeName(ElemType t);

// One part of a tensor given as consecutive byte arrays (reference/expertBytes.ts chunks).
struct TensorPart {
  const void* data = nullptr;
  int64_t length = 0;
};

// A typed array as seen by the validator: base pointer, element count, element type. A
// weight tensor may come as an array of Uint8Array parts (its per-expert chunks: no JS
// array reaches 4 GiB); then `parts` holds them in order, `length` their total and `data`
// is null until ownedCopy joins them into one owned buffer.
struct TensorArg {
  const void* data = nullptr;
  int64_t length = 0;
  ElemType type = ElemType::Absent;
  std::string typeName;  // the JS constructor name, for messages
  std::vector<TensorPart> parts;
};

struct CaseArgs {
  ProblemArgs problem;
  TensorArg logits, bias, hidden, hiddenScales;
  TensorArg fc1Packed, fc1Scales, fc2Packed, fc2Scales;
  TensorArg out1Scale, out1GateScale, out2Scale;
  TensorArg swigluAlpha, swigluBeta, swigluLimit;
};

// A CaseArgs whose tensors point into buffers this object owns: prepare() copies every
// input here synchronously, before its promise exists, so that a caller who resizes,
// transfers or overwrites a buffer afterwards cannot change (or free) what the worker
// thread reads. Built by ownedCopy(); never mutated afterwards.
struct OwnedCase {
  CaseArgs args;
  // Left uninitialized before the copy (a zero-fill of gigabytes would cost as much as the copy).
  std::vector<std::unique_ptr<uint8_t[]>> storage;
};
// Copy every present tensor of `c` (already validated) into an OwnedCase. Large cases are
// copied by several threads (ownedCopyThreads), each taking whole 64 MiB pieces; the bytes
// are the same for any thread count.
std::shared_ptr<const OwnedCase> ownedCopy(const CaseArgs& c);
// Threads ownedCopy uses for `bytes`: 1 below 256 MiB, else min(hardware threads, 16); never
// more than the 64 MiB pieces. MOE_NATIVE_COPY_THREADS (an integer in [1, 64]; anything else
// is refused, naming it) replaces that choice at any size (benchmarks, and the bit-for-bit
// test across thread counts).
int ownedCopyThreads(uint64_t bytes);
// 64-bit FNV-1a over every tensor's byte length and bytes, in CaseArgs order.
std::string hostDigest(const CaseArgs& c);

// Throw BadArgument / Unsupported unless the problem is well formed and supported.
void validateProblem(const ProblemArgs& p);
// validateProblem plus every tensor's type and length.
void validateCase(const CaseArgs& c);

std::string describeProblem(const ProblemArgs& p);

}  // namespace moe
