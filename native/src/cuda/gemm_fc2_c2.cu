// GEMM instantiations: see gemm_inst.inc.
#define GEMM_CONFIG 2
#define GEMM_KIND kGemmFc2Split
#define GEMM_ENTRY launchFc2Config2
#include "gemm_inst.inc"
