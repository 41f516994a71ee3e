// GEMM instantiations: see gemm_inst.inc.
#define GEMM_CONFIG 1
#define GEMM_KIND kGemmFc2
#define GEMM_ENTRY launchFc2Config1
#include "gemm_inst.inc"
