// The engine: everything the binding asks of the GPU side. Implemented by
// cuda/engine.cu (CUDA builds) and engine_stub.cc (builds without nvcc).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "problem_args.h"
#include "tactics.h"

namespace moe {

struct BuildInfo {
  bool builtWithCuda;
  bool faultsBuild;
  std::string reason;  // why CUDA is absent, or the architectures compiled
};
BuildInfo buildInfo();

struct DeviceInfo {
  std::string name;
  int major = 0, minor = 0;
  int64_t memoryBytes = 0;
  int64_t freeMemoryBytes = 0;  // cudaMemGetInfo at the call
  int multiProcessors = 0;
};
// Throws CudaFailure without a usable device, Unavailable without CUDA.
DeviceInfo deviceInfo();

// The largest fault code of harness/faults.ts (MAX_FAULT_CODE); run options accept
// [0, kLastFaultCode]. harness/faults.test.ts checks it against the catalog, and
// cuda/engine.cu against the kernels' enum (kFaultLast).
constexpr int kLastFaultCode = 13;

struct RunOptions {
  Tactic tactic;
  uint16_t poison = 0x7fc1;
  int fault = 0;  // harness/faults.ts code; nonzero only in the faults build
  int64_t flushL2Bytes = 0;  // > 0: cold L2, this many scratch bytes written on the stream before the timed region
};

struct RunOutputs {
  std::vector<uint16_t> output;  // bf16 bits [T, H]
  std::vector<int32_t> ids;      // [T, k]
  std::vector<float> weights;    // [T, k]
  double ms = 0;
  int64_t flushedL2Bytes = 0;  // the scratch bytes written before the timed region (RunOptions.flushL2Bytes)
};

// A case uploaded to the device in the kernel's own layout, plus its scratch buffers.
class Prepared {
 public:
  virtual ~Prepared() = default;
  virtual const ProblemArgs& problem() const = 0;
  // Run one tactic (validated by the caller and again here).
  virtual void run(const RunOptions& opts, RunOutputs& out) = 0;
  // The inputs digest (inputDigest.h, hex) of every input buffer as the device holds it,
  // computed on the device.
  virtual std::string digest() = 0;
  // Free device memory now; later calls throw.
  virtual void release() = 0;
};

// The inputs digest (inputDigest.h) of host buffers (pointer, bytes), computed by the device
// kernel that Prepared::digest uses: a test compares it with the host twin. Throws
// Unavailable without CUDA.
std::string digestOnDevice(const std::vector<std::pair<const void*, uint64_t>>& buffers);

// Validates the case (again), refuses it when its device memory estimate
// (deviceMemoryEstimate.h) exceeds the free device memory, uploads and lays out everything; the case's arrays are
// read during this call only.
std::unique_ptr<Prepared> prepareCase(const CaseArgs& c);

}  // namespace moe
