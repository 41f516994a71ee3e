/*
 * moe_kernel_abi.h — the C ABI between moe-harness and a compiled fused FP4 MoE kernel.
 *
 * This header is the whole contract (documented field by field in docs/c-abi.md).
 * A kernel library is a shared object that exports ONE symbol:
 *
 *     const MoeKernelApi* moe_kernel_api(void);
 *
 * returning a table of functions whose first fields are the ABI version it was built
 * against. The harness loads a library only inside a child process (never in its main
 * process), checks the version, then calls the table from ONE thread at a time.
 *
 * Semantics of the problem and of every tensor: SPEC §1–§5 of moe-harness and docs/c-abi.md
 * (canonical, unshuffled layout; FP4 packed two per byte, element 2j in the low nibble;
 * linear block-scale layout; FC1 rows 0..I-1 = up, I..2I-1 = gate).
 *
 * Versioning: MOE_KERNEL_ABI_MAJOR changes on any incompatible change (the host refuses a
 * library of another major). MOE_KERNEL_ABI_MINOR grows when fields are appended at the end
 * of a struct or of the table; every struct the host passes starts with `struct_size`, and
 * a library must read only the fields that lie within it.
 *
 * Pure C (C99), no dependency; every integer has a fixed width; no struct is returned by value.
 */
#ifndef MOE_KERNEL_ABI_H
#define MOE_KERNEL_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MOE_KERNEL_ABI_MAJOR 1
#define MOE_KERNEL_ABI_MINOR 0

/* The one exported symbol's name, for dlsym. */
#define MOE_KERNEL_API_SYMBOL "moe_kernel_api"

#if defined(_WIN32)
#define MOE_KERNEL_EXPORT __declspec(dllexport)
#else
#define MOE_KERNEL_EXPORT __attribute__((visibility("default")))
#endif

/* ------------------------------------------------------------------ status codes */

/* What every call returns. On anything but MOE_STATUS_OK the library sets its last error
 * (MoeKernelApi.last_error) to one line saying what was wrong. */
typedef enum MoeStatus {
  MOE_STATUS_OK = 0,
  /* The caller passed something that violates this contract (null pointer, wrong dtype,
   * wrong shape, a tactic the library did not enumerate). A harness bug or a library bug. */
  MOE_STATUS_BAD_ARGUMENT = 1,
  /* Well formed, but outside what the library (or this tactic) implements. */
  MOE_STATUS_UNSUPPORTED = 2,
  /* The device failed (e.g. an illegal address). The process's device context may be
   * poisoned: the harness stops using this process and starts a fresh one. */
  MOE_STATUS_DEVICE_ERROR = 3,
  /* Out of host or device memory. */
  MOE_STATUS_OUT_OF_MEMORY = 4,
  /* Anything else (a bug in the library). */
  MOE_STATUS_INTERNAL = 5
} MoeStatus;

/* ------------------------------------------------------------------ tensors (DLPack-shaped) */

/* Element types. Every FP4/FP8 format has its own code so that a library can check that
 * it is given what it expects (a scale of the wrong format is a common, silent bug). */
typedef enum MoeDtype {
  MOE_DTYPE_NONE = 0,     /* absent tensor: data NULL, ndim 0 */
  MOE_DTYPE_F32 = 1,      /* IEEE float32 */
  MOE_DTYPE_BF16 = 2,     /* bfloat16 bits, uint16 storage */
  MOE_DTYPE_I32 = 3,      /* int32 */
  MOE_DTYPE_E2M1X2 = 4,   /* two e2m1 (FP4) values per byte; element 2j in the low nibble;
                             shape counts BYTES along the last dimension (K/2) */
  MOE_DTYPE_E4M3 = 5,     /* fp8 e4m3fn, one per byte */
  MOE_DTYPE_UE8M0 = 6     /* unsigned exponent byte, value 2^(e-127) */
} MoeDtype;

typedef enum MoeDeviceType {
  MOE_DEVICE_CPU = 1,     /* host memory (DLPack kDLCPU) — the only kind ABI 1.x passes */
  MOE_DEVICE_CUDA = 2     /* device memory (DLPack kDLCUDA) — reserved */
} MoeDeviceType;

#define MOE_TENSOR_MAX_DIMS 4

/* One tensor. Strides count ELEMENTS of the storage type (bytes for E2M1X2/E4M3/UE8M0),
 * like DLPack; ABI 1.x always passes contiguous row-major tensors (strides given anyway). */
typedef struct MoeTensor {
  void* data;                            /* NULL when dtype is MOE_DTYPE_NONE */
  int32_t dtype;                         /* MoeDtype */
  int32_t device_type;                   /* MoeDeviceType */
  int32_t device_id;                     /* 0 for the host */
  int32_t ndim;                          /* 0..MOE_TENSOR_MAX_DIMS */
  int64_t shape[MOE_TENSOR_MAX_DIMS];    /* unused entries 0 */
  int64_t strides[MOE_TENSOR_MAX_DIMS];  /* unused entries 0 */
} MoeTensor;

/* ------------------------------------------------------------------ the problem */

/* Names, never integers, identify routing methods, quant modes and activations
 * (SPEC §1, §3): "default" "renormalize" "renormalize_naive" "deepseek_v3" "llama4" "topk";
 * "nvfp4" "mxfp4_mxfp8" "mxfp4_bf16"; "swiglu" "swiglu_clamped". */
typedef struct MoeProblem {
  uint64_t struct_size;          /* sizeof(MoeProblem) of the host */
  int64_t T;                     /* tokens */
  int64_t H;                     /* hidden size */
  int64_t I;                     /* intermediate size per expert */
  int64_t E;                     /* experts in the whole model */
  int64_t top_k;                 /* experts per token */
  int64_t local_offset;          /* first expert this call owns */
  int64_t local_experts;         /* experts this call owns (El) */
  const char* routing_method;    /* SPEC §3 name */
  int64_t n_group;               /* deepseek_v3 only (1 otherwise) */
  int64_t topk_group;            /* deepseek_v3 only (1 otherwise) */
  double routed_scaling_factor;  /* deepseek_v3 only (1 otherwise) */
  const char* quant_mode;        /* "nvfp4" | "mxfp4_mxfp8" | "mxfp4_bf16" */
  int32_t logits_dtype;          /* MOE_DTYPE_F32 or MOE_DTYPE_BF16 */
  int32_t bias_dtype;            /* MOE_DTYPE_NONE, MOE_DTYPE_F32 or MOE_DTYPE_BF16 */
  const char* activation;        /* "swiglu" | "swiglu_clamped" */
} MoeProblem;

/* Every input of one case, host memory, canonical layout (SPEC §1). The library may
 * keep these pointers until release (they stay valid and are never written by anyone);
 * it must never write through them (the harness digests them around every run). */
typedef struct MoeCase {
  uint64_t struct_size;          /* sizeof(MoeCase) of the host */
  MoeProblem problem;
  MoeTensor logits;              /* [T, E] F32 or BF16 */
  MoeTensor bias;                /* [E] F32/BF16, or NONE */
  MoeTensor hidden;              /* nvfp4: E2M1X2 [T, H/2]; mxfp4_mxfp8: E4M3 [T, H]; mxfp4_bf16: BF16 [T, H] */
  MoeTensor hidden_scales;       /* nvfp4: E4M3 [T, H/16]; mxfp4_mxfp8: UE8M0 [T, H/32]; mxfp4_bf16: NONE */
  MoeTensor fc1_weights;         /* E2M1X2 [El, 2I, H/2] (rows 0..I-1 up, I..2I-1 gate) */
  MoeTensor fc1_scales;          /* E4M3 [El, 2I, H/16] (nvfp4) or UE8M0 [El, 2I, H/32] */
  MoeTensor fc2_weights;         /* E2M1X2 [El, H, I/2] */
  MoeTensor fc2_scales;          /* E4M3 [El, H, I/16] or UE8M0 [El, H, I/32] */
  MoeTensor out1_scale;          /* F32 [El] (SPEC §4.3) */
  MoeTensor out1_gate_scale;     /* F32 [El] */
  MoeTensor out2_scale;          /* F32 [El] */
  MoeTensor swiglu_alpha;        /* F32 [El] (swiglu_clamped), else NONE */
  MoeTensor swiglu_beta;         /* F32 [El] (swiglu_clamped), else NONE */
  MoeTensor swiglu_limit;        /* F32 [El] (swiglu_clamped), else NONE */
} MoeCase;

/* ------------------------------------------------------------------ tactics */

/* A tactic is one (tile_tokens, config) pair of the library's own enumeration (SPEC §5).
 * Its label is "tile_tokens/config". */
typedef struct MoeTactic {
  int32_t tile_tokens;
  int32_t config;
} MoeTactic;

/* ------------------------------------------------------------------ describe */

/* One declared arithmetic convention (SPEC §7): a point and the value the kernel follows,
 * both names, e.g. {"fc1_activation", "bf16"}. Undeclared points follow the default contract. */
typedef struct MoeConvention {
  const char* point;
  const char* value;
} MoeConvention;

/* What the library is. Every pointer stays valid until the library is unloaded. */
typedef struct MoeKernelDescription {
  uint64_t struct_size;            /* set by the host to sizeof(MoeKernelDescription) */
  const char* name;                /* e.g. "acme-fp4-moe" */
  const char* build_id;            /* version, git hash, compiler, archs: anything that identifies the build */
  const char* device;              /* what it runs on, e.g. "NVIDIA H100 80GB HBM3 (sm_90)" or "cpu" */
  const char* const* quant_modes;  /* supported quant mode names */
  int32_t n_quant_modes;
  const char* const* routing_methods;  /* supported routing method names */
  int32_t n_routing_methods;
  const MoeConvention* conventions;    /* declared conventions (may be NULL when n is 0) */
  int32_t n_conventions;
} MoeKernelDescription;

/* ------------------------------------------------------------------ run */

typedef struct MoeRunArgs {
  uint64_t struct_size;   /* sizeof(MoeRunArgs) of the host */
  MoeTactic tactic;       /* forced: run exactly this tactic, never a fallback */
  uint16_t poison;        /* bf16 bit pattern: fill the kernel's own output buffer with it before running */
  uint16_t reserved0;
  uint32_t reserved1;
  MoeTensor output;       /* BF16 [T, H] host buffer to write (the host pre-fills it with `poison`) */
  MoeTensor expert_ids;   /* I32 [T, top_k] host buffer: global expert ids chosen */
  MoeTensor expert_weights; /* F32 [T, top_k] host buffer: routing weights (llama4: sigmoid(logit)) */
} MoeRunArgs;

typedef struct MoeRunResult {
  uint64_t struct_size;   /* sizeof(MoeRunResult) of the host */
  MoeTactic executed;     /* the tactic the library actually executed (the host pre-fills {-1, -1}) */
  double kernel_ms;       /* kernel time measured by the library (device events), < 0 when not measured */
} MoeRunResult;

/* Opaque: a case prepared by the library (weights uploaded and laid out once). */
typedef struct MoePrepared MoePrepared;

/* ------------------------------------------------------------------ the function table */

typedef struct MoeKernelApi {
  uint32_t abi_major;     /* MOE_KERNEL_ABI_MAJOR the library was built with */
  uint32_t abi_minor;     /* MOE_KERNEL_ABI_MINOR the library was built with */
  uint64_t struct_size;   /* sizeof(MoeKernelApi) of the library */

  /* Fill *out (the host sets out->struct_size first). */
  MoeStatus (*describe)(MoeKernelDescription* out);

  /* Every tactic of the library's table for this problem, runnable or not, written to
   * out[0 .. min(*count, capacity)); *count receives the total (call again with a larger
   * buffer when it exceeds capacity). */
  MoeStatus (*list_tactics)(const MoeProblem* problem, MoeTactic* out, int64_t capacity, int64_t* count);

  /* *ok = 1 when the tactic can run the problem, else 0 and a NUL-terminated reason in
   * reason[0 .. reason_capacity) (truncated if longer). Returns OK in both cases. */
  MoeStatus (*can_implement)(const MoeProblem* problem, MoeTactic tactic, int32_t* ok, char* reason, int64_t reason_capacity);

  /* Device workspace the tactic needs for the problem, in bytes (information for the
   * harness's memory estimate; the library allocates it itself). */
  MoeStatus (*workspace_size)(const MoeProblem* problem, MoeTactic tactic, uint64_t* bytes);

  /* Check every tensor, upload and lay out the case once; *out receives the handle. */
  MoeStatus (*prepare)(const MoeCase* c, MoePrepared** out);

  /* Run one forced tactic on a prepared case; write output, ids and weights; report the
   * executed tactic and the kernel time in *result. */
  MoeStatus (*run)(MoePrepared* prepared, const MoeRunArgs* args, MoeRunResult* result);

  /* OPTIONAL (may be NULL): a NUL-terminated digest (any text) of every input buffer as the
   * library holds it (e.g. read back from the device), into out[0 .. capacity). Equal
   * before and after the runs when the library left its copy of the inputs unchanged. */
  MoeStatus (*inputs_digest)(MoePrepared* prepared, char* out, int64_t capacity);

  /* Free everything prepare allocated. The handle is invalid afterwards. */
  MoeStatus (*release)(MoePrepared* prepared);

  /* The last error of the calling thread: one line, NUL-terminated, valid until the next
   * call on that thread; "" when none. Never NULL. */
  const char* (*last_error)(void);
} MoeKernelApi;

/* The one symbol a library exports. */
typedef const MoeKernelApi* (*MoeKernelApiFn)(void);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif /* MOE_KERNEL_ABI_H */
