// GEMM instantiations: see gemm_inst.inc.
#define GEMM_CONFIG 0
#define GEMM_KIND kGemmFc1
#define GEMM_ENTRY launchFc1Config0
#include "gemm_inst.inc"
