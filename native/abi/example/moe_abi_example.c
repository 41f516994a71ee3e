/*
 * libmoe_abi_example.so: the smallest complete library behind native/include/moe_kernel_abi.h
 * (docs/c-abi.md walks through it). Plain C99, CPU only, one tactic, one quant mode
 * (mxfp4_bf16: bf16 activations x MXFP4 weights), one routing method (renormalize), plain
 * SwiGLU. It follows the arithmetic contract (float32 sums in order, one bf16 rounding),
 * so the harness passes it:
 *
 *   npx moe-harness check --kernel lib:native/build/Release/libmoe_abi_example.so
 *
 * Every other problem is answered MOE_STATUS_UNSUPPORTED with the reason (the campaign
 * records it as not supported).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moe_kernel_abi.h"

static _Thread_local char last_error[512];

static MoeStatus fail(MoeStatus s, const char* what) {
  snprintf(last_error, sizeof last_error, "%s", what);
  return s;
}
static const char* get_last_error(void) { return last_error; }

/* ---- number formats (SPEC §2) */
static float bf16_value(uint16_t b) {
  uint32_t u = (uint32_t)b << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}
static uint16_t to_bf16(float f) { /* round to nearest even; NaN stays NaN */
  uint32_t u;
  memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
  return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
static float fp4_weight(const uint8_t* packed, const uint8_t* scales, long row, long col, long cols) {
  static const float mag[8] = {0.f, 0.5f, 1.f, 1.5f, 2.f, 3.f, 4.f, 6.f};
  uint8_t byte = packed[row * (cols / 2) + col / 2];
  uint8_t nib = (col & 1) ? (uint8_t)(byte >> 4) : (uint8_t)(byte & 15);
  float q = (nib & 8) ? -mag[nib & 7] : mag[nib & 7];
  return q * ldexpf(1.f, (int)scales[row * (cols / 32) + col / 32] - 127); /* ue8m0 scale */
}

/* ---- what this library supports */
static int supported(const MoeProblem* p, char* why, size_t n) {
  if (strcmp(p->quant_mode, "mxfp4_bf16") != 0) return snprintf(why, n, "quant_mode: expected mxfp4_bf16, got %s", p->quant_mode), 0;
  if (strcmp(p->routing_method, "renormalize") != 0) return snprintf(why, n, "routing_method: expected renormalize, got %s", p->routing_method), 0;
  if (strcmp(p->activation, "swiglu") != 0) return snprintf(why, n, "activation: expected swiglu, got %s", p->activation), 0;
  if (p->logits_dtype != MOE_DTYPE_F32) return snprintf(why, n, "logits_dtype: expected f32"), 0;
  return 1;
}

static MoeStatus describe(MoeKernelDescription* d) {
  static const char* const quant[] = {"mxfp4_bf16"};
  static const char* const routing[] = {"renormalize"};
  d->name = "moe-abi-example";
  d->build_id = "example 1 (" __DATE__ ")";
  d->device = "cpu";
  d->quant_modes = quant;
  d->n_quant_modes = 1;
  d->routing_methods = routing;
  d->n_routing_methods = 1;
  d->conventions = NULL;
  d->n_conventions = 0;
  return MOE_STATUS_OK;
}

static MoeStatus list_tactics(const MoeProblem* p, MoeTactic* out, int64_t capacity, int64_t* count) {
  if (capacity >= 1) out[0] = (MoeTactic){1, 0}; /* one tactic: one token at a time, config 0 */
  *count = 1;
  return MOE_STATUS_OK;
}

static MoeStatus can_implement(const MoeProblem* p, MoeTactic t, int32_t* ok, char* reason, int64_t cap) {
  char why[256] = "";
  *ok = supported(p, why, sizeof why) && t.tile_tokens == 1 && t.config == 0;
  if (!*ok && !why[0]) snprintf(why, sizeof why, "the only tactic is 1/0");
  if (cap > 0) snprintf(reason, (size_t)cap, "%s", *ok ? "" : why);
  return MOE_STATUS_OK;
}

static MoeStatus workspace_size(const MoeProblem* p, MoeTactic t, uint64_t* bytes) {
  *bytes = 0;
  return MOE_STATUS_OK;
}

/* The host keeps every tensor alive until release: keep a copy of the descriptors. */
static MoeStatus prepare(const MoeCase* c, MoePrepared** out) {
  char why[256];
  if (!supported(&c->problem, why, sizeof why)) return fail(MOE_STATUS_UNSUPPORTED, why);
  if (c->hidden.dtype != MOE_DTYPE_BF16 || c->fc1_scales.dtype != MOE_DTYPE_UE8M0) return fail(MOE_STATUS_BAD_ARGUMENT, "hidden: expected bf16 with ue8m0 weight scales");
  MoeCase* copy = malloc(sizeof *copy);
  if (!copy) return fail(MOE_STATUS_OUT_OF_MEMORY, "prepare: malloc failed");
  *copy = *c;
  *out = (MoePrepared*)copy;
  return MOE_STATUS_OK;
}

static float sigmoid(float x) { return (float)(1.0 / (1.0 + exp(-(double)x))); }

static MoeStatus run(MoePrepared* handle, const MoeRunArgs* args, MoeRunResult* result) {
  const MoeCase* c = (const MoeCase*)handle;
  const MoeProblem* p = &c->problem;
  const long T = p->T, H = p->H, I = p->I, E = p->E, k = p->top_k;
  if (args->tactic.tile_tokens != 1 || args->tactic.config != 0) return fail(MOE_STATUS_UNSUPPORTED, "run: the only tactic is 1/0");
  const float* logits = c->logits.data;
  const float *o1 = c->out1_scale.data, *o1g = c->out1_gate_scale.data, *o2 = c->out2_scale.data;
  uint16_t* out = args->output.data;
  int32_t* ids = args->expert_ids.data;
  float* weights = args->expert_weights.data;
  float* acc = malloc(sizeof(float) * (size_t)H);
  float* a = malloc(sizeof(float) * (size_t)I);
  float* x = malloc(sizeof(float) * (size_t)H);
  float* row = malloc(sizeof(float) * (size_t)E);
  if (!acc || !a || !x || !row) return free(acc), free(a), free(x), free(row), fail(MOE_STATUS_OUT_OF_MEMORY, "run: malloc failed");
  for (long t = 0; t < T; ++t) {
    /* renormalize: top-k of the logits (lower index on ties), softmax over the k chosen.
       NaN and +inf logits count as -inf (masked); a masked expert that is chosen gets weight 0. */
    for (long e = 0; e < E; ++e) row[e] = (logits[t * E + e] > -INFINITY && logits[t * E + e] < INFINITY) ? logits[t * E + e] : -INFINITY;
    for (long j = 0; j < k; ++j) {
      long best = -1;
      for (long e = 0; e < E; ++e) {
        int taken = 0;
        for (long i = 0; i < j; ++i) taken |= ids[t * k + i] == e;
        if (!taken && (best < 0 || row[e] > row[best])) best = e;
      }
      ids[t * k + j] = (int32_t)best;
    }
    float m = row[ids[t * k]], sum = 0.f;
    for (long j = 0; j < k; ++j) sum += weights[t * k + j] = m == -INFINITY ? 0.f : expf(row[ids[t * k + j]] - m);
    for (long j = 0; j < k; ++j) weights[t * k + j] = m == -INFINITY ? 0.f : weights[t * k + j] / sum;
    for (long h = 0; h < H; ++h) x[h] = bf16_value(((const uint16_t*)c->hidden.data)[t * H + h]), acc[h] = 0.f;
    for (long j = 0; j < k; ++j) {
      long l = ids[t * k + j] - p->local_offset;
      if (l < 0 || l >= p->local_experts) continue; /* not local: contributes 0 */
      for (long i = 0; i < I; ++i) { /* FC1 rows: up = i, gate = I + i; then SwiGLU, bf16 re-quantization */
        float up = 0.f, gate = 0.f;
        for (long h = 0; h < H; ++h) up += fp4_weight(c->fc1_weights.data, c->fc1_scales.data, l * 2 * I + i, h, H) * x[h];
        for (long h = 0; h < H; ++h) gate += fp4_weight(c->fc1_weights.data, c->fc1_scales.data, l * 2 * I + I + i, h, H) * x[h];
        gate = gate * o1g[l];
        up = up * o1[l];
        a[i] = bf16_value(to_bf16(gate * sigmoid(gate) * up));
      }
      for (long h = 0; h < H; ++h) { /* FC2, then finalize in slot order */
        float y = 0.f;
        for (long i = 0; i < I; ++i) y += fp4_weight(c->fc2_weights.data, c->fc2_scales.data, l * H + h, i, I) * a[i];
        acc[h] += weights[t * k + j] * (y * o2[l]);
      }
    }
    for (long h = 0; h < H; ++h) out[t * H + h] = to_bf16(acc[h]);
  }
  free(acc), free(a), free(x), free(row);
  result->executed = args->tactic; /* the tactic actually executed */
  result->kernel_ms = -1;          /* not measured */
  return MOE_STATUS_OK;
}

static MoeStatus release(MoePrepared* handle) {
  free(handle);
  return MOE_STATUS_OK;
}

MOE_KERNEL_EXPORT const MoeKernelApi* moe_kernel_api(void) {
  static const MoeKernelApi api = {
      MOE_KERNEL_ABI_MAJOR, MOE_KERNEL_ABI_MINOR, sizeof(MoeKernelApi),
      describe, list_tactics, can_implement, workspace_size, prepare, run,
      NULL, /* inputs_digest: optional */
      release, get_last_error,
  };
  return &api;
}
