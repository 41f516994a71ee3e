// Engine of an addon built without CUDA (no nvcc at build time): loads, validates
// arguments, enumerates tactics, and refuses GPU work with a clear error.
#include "engine.h"
#include "errors.h"

#ifndef MOE_NO_CUDA_REASON
#define MOE_NO_CUDA_REASON "built without CUDA"
#endif

namespace moe {

BuildInfo buildInfo() { return {false, MOE_FAULTS_BUILD != 0, MOE_NO_CUDA_REASON}; }

DeviceInfo deviceInfo() { throw Unavailable(std::string("native MoE addon ") + MOE_NO_CUDA_REASON); }

std::string digestOnDevice(const std::vector<std::pair<const void*, uint64_t>>&) {
  throw Unavailable(std::string("native MoE addon ") + MOE_NO_CUDA_REASON + ": the device digest needs a CUDA build");
}

std::unique_ptr<Prepared> prepareCase(const CaseArgs& c) {
  validateCase(c);
  throw Unavailable(std::string("native MoE addon ") + MOE_NO_CUDA_REASON + ": prepare needs a CUDA build");
}

}  // namespace moe
