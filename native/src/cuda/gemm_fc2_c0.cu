// GEMM instantiations: see gemm_inst.inc.
#define GEMM_CONFIG 0
#define GEMM_KIND kGemmFc2
#define GEMM_ENTRY launchFc2Config0
#include "gemm_inst.inc"
