// GEMM instantiations: see gemm_inst.inc.
#define GEMM_CONFIG 1
#define GEMM_KIND kGemmFc1
#define GEMM_ENTRY launchFc1Config1
#include "gemm_inst.inc"
