// Helpers shared by the libraries that implement native/include/moe_kernel_abi.h in this
// repository (the CPU test library and the wrapper over our CUDA engine): the thread-local
// last error, and tensor checks whose messages name the tensor, the expected and the actual.
// A library written elsewhere needs none of this: the header is the whole contract.
#pragma once
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "moe_kernel_abi.h"

namespace moe_abi {

// A failed check or call: the status to return and the one-line message for last_error.
struct Failure : std::runtime_error {
  MoeStatus status;
  Failure(MoeStatus s, const std::string& m) : std::runtime_error(m), status(s) {}
};

inline std::string& lastError() {
  thread_local std::string e;
  return e;
}

inline std::string format(const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

[[noreturn]] inline void fail(MoeStatus s, const std::string& m) { throw Failure(s, m); }
[[noreturn]] inline void badArgument(const std::string& what, const std::string& expected, const std::string& actual) {
  fail(MOE_STATUS_BAD_ARGUMENT, what + ": expected " + expected + ", got " + actual);
}

// Run `fn`; turn exceptions into a status and the last error.
template <class F>
MoeStatus guarded(const char* call, F&& fn) {
  try {
    lastError().clear();
    fn();
    return MOE_STATUS_OK;
  } catch (const Failure& f) {
    lastError() = f.what();
    return f.status;
  } catch (const std::bad_alloc&) {
    lastError() = std::string(call) + ": host memory allocation failed";
    return MOE_STATUS_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    lastError() = std::string(call) + ": " + e.what();
    return MOE_STATUS_INTERNAL;
  } catch (...) {
    lastError() = std::string(call) + ": unknown C++ exception";
    return MOE_STATUS_INTERNAL;
  }
}

inline const char* dtypeName(int32_t d) {
  switch (d) {
    case MOE_DTYPE_NONE: return "none";
    case MOE_DTYPE_F32: return "f32";
    case MOE_DTYPE_BF16: return "bf16";
    case MOE_DTYPE_I32: return "i32";
    case MOE_DTYPE_E2M1X2: return "e2m1x2";
    case MOE_DTYPE_E4M3: return "e4m3";
    case MOE_DTYPE_UE8M0: return "ue8m0";
    default: return "unknown";
  }
}

inline std::string shapeText(const std::vector<int64_t>& s) {
  std::string t = "[";
  for (size_t i = 0; i < s.size(); ++i) t += (i ? "," : "") + std::to_string(s[i]);
  return t + "]";
}

inline std::string tensorText(const MoeTensor& t) {
  std::vector<int64_t> s(t.shape, t.shape + (t.ndim >= 0 && t.ndim <= MOE_TENSOR_MAX_DIMS ? t.ndim : 0));
  return std::string(dtypeName(t.dtype)) + shapeText(s) + (t.data ? "" : " (null data)");
}

// Require a contiguous host tensor of this dtype and shape.
inline void expectTensor(const char* name, const MoeTensor& t, int32_t dtype, const std::vector<int64_t>& shape) {
  const std::string want = std::string(dtypeName(dtype)) + shapeText(shape) + " host, contiguous";
  if (t.dtype != dtype || t.ndim != int32_t(shape.size()) || t.device_type != MOE_DEVICE_CPU) badArgument(name, want, tensorText(t));
  int64_t stride = 1;
  for (int i = int(shape.size()) - 1; i >= 0; --i) {
    if (t.shape[i] != shape[size_t(i)]) badArgument(name, want, tensorText(t));
    if (t.strides[i] != stride) badArgument(std::string(name) + ".strides", "contiguous row-major", tensorText(t));
    stride *= shape[size_t(i)];
  }
  if (!t.data && stride > 0) badArgument(name, want, tensorText(t));
}

inline void expectAbsent(const char* name, const MoeTensor& t) {
  if (t.dtype != MOE_DTYPE_NONE || t.data != nullptr) badArgument(name, "absent (dtype none, data NULL)", tensorText(t));
}

inline int64_t elements(const MoeTensor& t) {
  int64_t n = 1;
  for (int i = 0; i < t.ndim; ++i) n *= t.shape[i];
  return t.ndim == 0 ? 0 : n;
}

// Copy a reason into a caller buffer (truncated, always NUL-terminated when capacity > 0).
inline void copyText(const std::string& s, char* out, int64_t capacity) {
  if (!out || capacity <= 0) return;
  const size_t n = std::min<size_t>(s.size(), size_t(capacity - 1));
  std::memcpy(out, s.data(), n);
  out[n] = 0;
}

inline std::string tacticText(const MoeTactic& t) { return std::to_string(t.tile_tokens) + "/" + std::to_string(t.config); }

inline std::string nameOr(const char* s) { return s ? std::string(s) : std::string("(null)"); }

// Every tensor of a case against its problem (SPEC §1 shapes, dtypes of moe_kernel_abi.h).
// The problem's names must already be checked (quant_mode one of the three, activation known).
inline void expectCaseTensors(const MoeCase& cc) {
  const MoeCase* c = &cc;
  const MoeProblem& p = c->problem;
  const bool nv = std::strcmp(p.quant_mode, "nvfp4") == 0;
  const int64_t sf = nv ? 16 : 32;
  const int32_t scaleType = nv ? MOE_DTYPE_E4M3 : MOE_DTYPE_UE8M0;
  const int64_t El = p.local_experts;
  expectTensor("logits", c->logits, p.logits_dtype, {p.T, p.E});
  if (p.bias_dtype == MOE_DTYPE_NONE) expectAbsent("bias", c->bias);
  else expectTensor("bias", c->bias, p.bias_dtype, {p.E});
  if (nv) {
    expectTensor("hidden", c->hidden, MOE_DTYPE_E2M1X2, {p.T, p.H / 2});
    expectTensor("hidden_scales", c->hidden_scales, MOE_DTYPE_E4M3, {p.T, p.H / 16});
  } else if (std::strcmp(p.quant_mode, "mxfp4_mxfp8") == 0) {
    expectTensor("hidden", c->hidden, MOE_DTYPE_E4M3, {p.T, p.H});
    expectTensor("hidden_scales", c->hidden_scales, MOE_DTYPE_UE8M0, {p.T, p.H / 32});
  } else {
    expectTensor("hidden", c->hidden, MOE_DTYPE_BF16, {p.T, p.H});
    expectAbsent("hidden_scales", c->hidden_scales);
  }
  expectTensor("fc1_weights", c->fc1_weights, MOE_DTYPE_E2M1X2, {El, 2 * p.I, p.H / 2});
  expectTensor("fc1_scales", c->fc1_scales, scaleType, {El, 2 * p.I, p.H / sf});
  expectTensor("fc2_weights", c->fc2_weights, MOE_DTYPE_E2M1X2, {El, p.H, p.I / 2});
  expectTensor("fc2_scales", c->fc2_scales, scaleType, {El, p.H, p.I / sf});
  expectTensor("out1_scale", c->out1_scale, MOE_DTYPE_F32, {El});
  expectTensor("out1_gate_scale", c->out1_gate_scale, MOE_DTYPE_F32, {El});
  expectTensor("out2_scale", c->out2_scale, MOE_DTYPE_F32, {El});
  if (std::strcmp(p.activation, "swiglu_clamped") == 0) {
    expectTensor("swiglu_alpha", c->swiglu_alpha, MOE_DTYPE_F32, {El});
    expectTensor("swiglu_beta", c->swiglu_beta, MOE_DTYPE_F32, {El});
    expectTensor("swiglu_limit", c->swiglu_limit, MOE_DTYPE_F32, {El});
  } else {
    expectAbsent("swiglu_alpha", c->swiglu_alpha);
    expectAbsent("swiglu_beta", c->swiglu_beta);
    expectAbsent("swiglu_limit", c->swiglu_limit);
  }
}

}  // namespace moe_abi
