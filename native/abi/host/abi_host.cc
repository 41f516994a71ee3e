// moe_abi_host.node: the N-API host of the C ABI door (native/include/moe_kernel_abi.h).
// It dlopens a kernel library and calls its function table. harness/kernels/lib.ts is its
// only caller, and only inside the campaign's child process (never the main process: a
// library that crashes or poisons its device context takes only that child down).
//
// Every call is synchronous (the child runs one tactic at a time). Every failure of a
// library call throws an Error with code "MOE_ABI_CALL" and the properties library, call,
// status (the MoeStatus name) and detail (the library's last error); a library that
// cannot be loaded or has another ABI major throws code "MOE_ABI_LOAD".
//
// The host owns a copy of every input tensor for the prepared case's lifetime (the
// library may keep the pointers until release) and digests those copies for the
// harness's inputs-unchanged check (native/src/inputDigest.h, on every core), combined with
// the library's own inputs_digest.
#include <dlfcn.h>
#include <napi.h>

#include <cstdint>
#include <cstdio>
#include <limits>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "../../src/inputDigest.h"
#include "moe_kernel_abi.h"

namespace {

const napi_type_tag kLibTag = {0x6d6f652d6162692dull, 0x6c69627261727921ull};
const napi_type_tag kCaseTag = {0x6d6f652d6162692dull, 0x7072657061726564ull};

const char* statusName(MoeStatus s) {
  switch (s) {
    case MOE_STATUS_OK: return "MOE_STATUS_OK";
    case MOE_STATUS_BAD_ARGUMENT: return "MOE_STATUS_BAD_ARGUMENT";
    case MOE_STATUS_UNSUPPORTED: return "MOE_STATUS_UNSUPPORTED";
    case MOE_STATUS_DEVICE_ERROR: return "MOE_STATUS_DEVICE_ERROR";
    case MOE_STATUS_OUT_OF_MEMORY: return "MOE_STATUS_OUT_OF_MEMORY";
    case MOE_STATUS_INTERNAL: return "MOE_STATUS_INTERNAL";
    default: return "an unknown MoeStatus";
  }
}

struct Library {
  std::string path;
  void* dl = nullptr;
  const MoeKernelApi* api = nullptr;
};

// Strings of a MoeProblem kept alive while the struct is in use.
struct ProblemHolder {
  std::string routing, quant, activation;
  MoeProblem p{};
};

struct PreparedCase {
  std::shared_ptr<Library> lib;
  MoePrepared* handle = nullptr;
  ProblemHolder problem;
  std::vector<std::vector<uint8_t>> buffers;  // every input tensor, owned until release
  MoeCase c{};
};

[[noreturn]] void loadError(Napi::Env env, const std::string& path, const std::string& what) {
  Napi::Error e = Napi::Error::New(env, "C ABI library " + path + ": " + what);
  e.Set("code", "MOE_ABI_LOAD");
  e.Set("library", path);
  throw e;
}

// Throw unless the call returned OK: names the library, the call, the status and the last error.
void checkCall(Napi::Env env, const Library& lib, const char* call, MoeStatus s) {
  if (s == MOE_STATUS_OK) return;
  std::string detail;
  if (lib.api->last_error) {
    const char* le = lib.api->last_error();
    detail = le ? le : "(last_error returned NULL)";
  }
  if (detail.empty()) detail = "(no last error set)";
  Napi::Error e = Napi::Error::New(env, lib.path + ": " + call + " returned " + statusName(s) + ": " + detail);
  e.Set("code", "MOE_ABI_CALL");
  e.Set("library", lib.path);
  e.Set("call", call);
  e.Set("status", statusName(s));
  e.Set("detail", detail);
  throw e;
}

[[noreturn]] void badArgument(Napi::Env env, const std::string& arg, const std::string& expected, const std::string& actual) {
  Napi::Error e = Napi::Error::New(env, arg + ": expected " + expected + ", got " + actual);
  e.Set("code", "MOE_BAD_ARGUMENT");
  e.Set("argument", arg);
  e.Set("expected", expected);
  e.Set("actual", actual);
  throw e;
}

std::shared_ptr<Library> requireLib(const Napi::Value& v) {
  if (!v.IsObject() || !v.As<Napi::Object>().CheckTypeTag(&kLibTag)) badArgument(v.Env(), "library", "a library object returned by open()", "another value");
  return *v.As<Napi::Object>().Get("box").As<Napi::External<std::shared_ptr<Library>>>().Data();
}

PreparedCase& requireCase(const Napi::Value& v) {
  if (!v.IsObject() || !v.As<Napi::Object>().CheckTypeTag(&kCaseTag)) badArgument(v.Env(), "handle", "a handle returned by prepare()", "another value");
  auto* box = v.As<Napi::Object>().Get("box").As<Napi::External<std::unique_ptr<PreparedCase>>>().Data();
  if (!*box) badArgument(v.Env(), "handle", "a prepared handle that has not been released", "a released handle");
  return **box;
}

int64_t integer(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) badArgument(o.Env(), key, "an integer", "not a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (d != double(int64_t(d))) badArgument(o.Env(), key, "an integer", std::to_string(d));
  return int64_t(d);
}

std::string text(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsString()) badArgument(o.Env(), key, "a string", "not a string");
  return v.As<Napi::String>().Utf8Value();
}

int32_t dtypeCode(Napi::Env env, const std::string& name, const std::string& arg) {
  static const char* names[] = {"none", "f32", "bf16", "i32", "e2m1x2", "e4m3", "ue8m0"};
  for (int32_t i = 0; i < 7; ++i) if (name == names[i]) return i;
  badArgument(env, arg, "one of none, f32, bf16, i32, e2m1x2, e4m3, ue8m0", "\"" + name + "\"");
}

void parseProblem(const Napi::Value& v, ProblemHolder& h) {
  if (!v.IsObject()) badArgument(v.Env(), "problem", "an object", "another value");
  const Napi::Object o = v.As<Napi::Object>();
  h.routing = text(o, "routingMethod");
  h.quant = text(o, "quantMode");
  h.activation = text(o, "activation");
  MoeProblem& p = h.p;
  p = MoeProblem{};
  p.struct_size = sizeof(MoeProblem);
  p.T = integer(o, "T");
  p.H = integer(o, "H");
  p.I = integer(o, "I");
  p.E = integer(o, "E");
  p.top_k = integer(o, "topK");
  p.local_offset = integer(o, "localOffset");
  p.local_experts = integer(o, "localExperts");
  p.routing_method = h.routing.c_str();
  p.n_group = integer(o, "nGroup");
  p.topk_group = integer(o, "topkGroup");
  p.routed_scaling_factor = o.Get("routedScalingFactor").As<Napi::Number>().DoubleValue();
  p.quant_mode = h.quant.c_str();
  p.logits_dtype = dtypeCode(o.Env(), text(o, "logitsDtype"), "problem.logitsDtype");
  p.bias_dtype = dtypeCode(o.Env(), text(o, "biasDtype"), "problem.biasDtype");
  p.activation = h.activation.c_str();
}

// A tensor from {dtype, shape, data}: the data is copied into an owned buffer.
MoeTensor parseTensor(const Napi::Object& c, const char* key, PreparedCase& pc) {
  MoeTensor t{};
  t.device_type = MOE_DEVICE_CPU;
  Napi::Value v = c.Get(key);
  if (v.IsUndefined() || v.IsNull()) return t;
  if (!v.IsObject()) badArgument(c.Env(), key, "{dtype, shape, data} or null", "another value");
  const Napi::Object o = v.As<Napi::Object>();
  t.dtype = dtypeCode(c.Env(), text(o, "dtype"), std::string(key) + ".dtype");
  Napi::Value sv = o.Get("shape");
  if (!sv.IsArray()) badArgument(c.Env(), std::string(key) + ".shape", "an array", "another value");
  Napi::Array shape = sv.As<Napi::Array>();
  if (shape.Length() > MOE_TENSOR_MAX_DIMS) badArgument(c.Env(), std::string(key) + ".shape", "at most 4 dimensions", std::to_string(shape.Length()));
  t.ndim = int32_t(shape.Length());
  for (uint32_t i = 0; i < shape.Length(); ++i) t.shape[i] = int64_t(shape.Get(i).As<Napi::Number>().DoubleValue());
  int64_t stride = 1;
  for (int i = t.ndim - 1; i >= 0; --i) {
    t.strides[i] = stride;
    stride *= t.shape[i];
  }
  // data: a typed array, or (a weight tensor stored per expert, reference/expertBytes.ts) an
  // array of typed-array parts joined in order. The pointer comes from
  // napi_get_typedarray_info, which also serves SharedArrayBuffer views (ArrayBuffer() does not).
  Napi::Value dv = o.Get("data");
  std::vector<Napi::Value> parts;
  if (dv.IsArray()) {
    Napi::Array a = dv.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); ++i) parts.push_back(a.Get(i));
  } else {
    parts.push_back(dv);
  }
  struct Span { const uint8_t* p; size_t n; };
  std::vector<Span> spans;
  size_t total = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string name = std::string(key) + ".data" + (dv.IsArray() ? "[" + std::to_string(i) + "]" : "");
    if (!parts[i].IsTypedArray()) badArgument(c.Env(), name, "a typed array (or an array of typed-array parts)", "another value");
    napi_typedarray_type type;
    size_t length = 0, offset = 0;
    void* data = nullptr;
    napi_value buffer;
    if (napi_get_typedarray_info(c.Env(), parts[i], &type, &length, &data, &buffer, &offset) != napi_ok) {
      badArgument(c.Env(), name, "a readable typed array", "another value");
    }
    const size_t n = parts[i].As<Napi::TypedArray>().ByteLength();
    spans.push_back({static_cast<const uint8_t*>(data), n});
    total += n;
  }
  pc.buffers.emplace_back(total);
  uint8_t* dst = pc.buffers.back().data();
  for (const Span& s : spans) {
    if (s.n > 0) std::memcpy(dst, s.p, s.n);
    dst += s.n;
  }
  t.data = pc.buffers.back().empty() ? nullptr : pc.buffers.back().data();
  return t;
}

Napi::Object tacticObject(Napi::Env env, const MoeTactic& t) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("tileTokens", t.tile_tokens);
  o.Set("config", t.config);
  return o;
}

// ------------------------------------------------------------------ exported functions

// open(path) -> library object {abiMajor, abiMinor}
Napi::Value Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) badArgument(env, "path", "the path of a shared library", "another value");
  auto lib = std::make_shared<Library>();
  lib->path = info[0].As<Napi::String>().Utf8Value();
  lib->dl = dlopen(lib->path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib->dl) {
    const char* e = dlerror();
    loadError(env, lib->path, std::string("dlopen failed: ") + (e ? e : "unknown error"));
  }
  auto fn = reinterpret_cast<MoeKernelApiFn>(dlsym(lib->dl, MOE_KERNEL_API_SYMBOL));
  if (!fn) loadError(env, lib->path, "does not export " MOE_KERNEL_API_SYMBOL " (the one entry point of moe_kernel_abi.h)");
  lib->api = fn();
  if (!lib->api) loadError(env, lib->path, MOE_KERNEL_API_SYMBOL "() returned NULL");
  const MoeKernelApi& a = *lib->api;
  if (a.abi_major != MOE_KERNEL_ABI_MAJOR) {
    loadError(env, lib->path, "ABI version: expected major " + std::to_string(MOE_KERNEL_ABI_MAJOR) + " (moe_kernel_abi.h " +
        std::to_string(MOE_KERNEL_ABI_MAJOR) + "." + std::to_string(MOE_KERNEL_ABI_MINOR) + "), got " +
        std::to_string(a.abi_major) + "." + std::to_string(a.abi_minor));
  }
  if (a.struct_size < sizeof(MoeKernelApi)) {
    loadError(env, lib->path, "MoeKernelApi.struct_size: expected >= " + std::to_string(sizeof(MoeKernelApi)) + " (ABI " +
        std::to_string(a.abi_major) + "." + std::to_string(a.abi_minor) + "), got " + std::to_string(a.struct_size));
  }
  const struct { const void* fn; const char* name; } required[] = {
      {(const void*)a.describe, "describe"}, {(const void*)a.list_tactics, "list_tactics"},
      {(const void*)a.can_implement, "can_implement"}, {(const void*)a.workspace_size, "workspace_size"},
      {(const void*)a.prepare, "prepare"}, {(const void*)a.run, "run"}, {(const void*)a.release, "release"},
      {(const void*)a.last_error, "last_error"}};
  for (const auto& r : required) {
    if (!r.fn) loadError(env, lib->path, std::string("MoeKernelApi.") + r.name + ": expected a function, got NULL");
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("box", Napi::External<std::shared_ptr<Library>>::New(env, new std::shared_ptr<Library>(lib),
      [](Napi::Env, std::shared_ptr<Library>* p) { delete p; }));
  o.TypeTag(&kLibTag);
  o.Set("abiMajor", a.abi_major);
  o.Set("abiMinor", a.abi_minor);
  o.Set("hostAbi", std::to_string(MOE_KERNEL_ABI_MAJOR) + "." + std::to_string(MOE_KERNEL_ABI_MINOR));
  o.Set("path", lib->path);
  return o;
}

Napi::Array stringArray(Napi::Env env, const char* const* v, int32_t n, const std::string& what, const Library& lib) {
  if (n < 0 || (n > 0 && !v)) loadError(env, lib.path, "describe: " + what + ": expected an array of n >= 0 names, got n=" + std::to_string(n) + (v ? "" : " and NULL"));
  Napi::Array a = Napi::Array::New(env, size_t(n));
  for (int32_t i = 0; i < n; ++i) a.Set(uint32_t(i), v[i] ? v[i] : "(null)");
  return a;
}

Napi::Value Describe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto lib = requireLib(info[0]);
  MoeKernelDescription d{};
  d.struct_size = sizeof d;
  checkCall(env, *lib, "describe", lib->api->describe(&d));
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", d.name ? d.name : "");
  o.Set("buildId", d.build_id ? d.build_id : "");
  o.Set("device", d.device ? d.device : "");
  o.Set("quantModes", stringArray(env, d.quant_modes, d.n_quant_modes, "quant_modes", *lib));
  o.Set("routingMethods", stringArray(env, d.routing_methods, d.n_routing_methods, "routing_methods", *lib));
  if (d.n_conventions < 0 || (d.n_conventions > 0 && !d.conventions)) loadError(env, lib->path, "describe: conventions: expected n >= 0 entries, got n=" + std::to_string(d.n_conventions));
  Napi::Array conv = Napi::Array::New(env, size_t(d.n_conventions));
  for (int32_t i = 0; i < d.n_conventions; ++i) {
    Napi::Object c = Napi::Object::New(env);
    c.Set("point", d.conventions[i].point ? d.conventions[i].point : "");
    c.Set("value", d.conventions[i].value ? d.conventions[i].value : "");
    conv.Set(uint32_t(i), c);
  }
  o.Set("conventions", conv);
  return o;
}

// tactics(lib, problem) -> [{tileTokens, config, ok, reason, workspaceBytes}]
Napi::Value Tactics(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto lib = requireLib(info[0]);
  ProblemHolder h;
  parseProblem(info[1], h);
  int64_t count = 0;
  std::vector<MoeTactic> list(64);
  checkCall(env, *lib, "list_tactics", lib->api->list_tactics(&h.p, list.data(), int64_t(list.size()), &count));
  if (count < 0 || count > (int64_t(1) << 20)) loadError(env, lib->path, "list_tactics: count: expected 0..2^20, got " + std::to_string(count));
  if (count > int64_t(list.size())) {
    list.resize(size_t(count));
    int64_t again = 0;
    checkCall(env, *lib, "list_tactics", lib->api->list_tactics(&h.p, list.data(), count, &again));
    if (again != count) loadError(env, lib->path, "list_tactics: count changed between two calls (" + std::to_string(count) + ", then " + std::to_string(again) + ")");
  }
  Napi::Array out = Napi::Array::New(env, size_t(count));
  for (int64_t i = 0; i < count; ++i) {
    const MoeTactic t = list[size_t(i)];
    int32_t ok = -1;
    char reason[512] = {0};
    checkCall(env, *lib, "can_implement", lib->api->can_implement(&h.p, t, &ok, reason, sizeof reason));
    reason[sizeof reason - 1] = 0;
    Napi::Object o = tacticObject(env, t);
    if (ok != 0 && ok != 1) loadError(env, lib->path, "can_implement: ok: expected 0 or 1, got " + std::to_string(ok));
    o.Set("ok", ok == 1);
    o.Set("reason", reason);
    if (ok == 1) {
      uint64_t bytes = 0;
      checkCall(env, *lib, "workspace_size", lib->api->workspace_size(&h.p, t, &bytes));
      o.Set("workspaceBytes", double(bytes));
    }
    out.Set(uint32_t(i), o);
  }
  return out;
}

// prepare(lib, case) -> handle. case = {problem, logits, bias, hidden, hiddenScales, fc1Weights,
// fc1Scales, fc2Weights, fc2Scales, out1Scale, out1GateScale, out2Scale, swigluAlpha, swigluBeta,
// swigluLimit}, each tensor {dtype, shape, data} or null.
Napi::Value Prepare(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto lib = requireLib(info[0]);
  if (!info[1].IsObject()) badArgument(env, "case", "an object", "another value");
  const Napi::Object c = info[1].As<Napi::Object>();
  auto pc = std::make_unique<PreparedCase>();
  pc->lib = lib;
  parseProblem(c.Get("problem"), pc->problem);
  pc->buffers.reserve(16);  // pointers into buffers must stay stable
  MoeCase& mc = pc->c;
  mc.struct_size = sizeof(MoeCase);
  mc.problem = pc->problem.p;
  mc.logits = parseTensor(c, "logits", *pc);
  mc.bias = parseTensor(c, "bias", *pc);
  mc.hidden = parseTensor(c, "hidden", *pc);
  mc.hidden_scales = parseTensor(c, "hiddenScales", *pc);
  mc.fc1_weights = parseTensor(c, "fc1Weights", *pc);
  mc.fc1_scales = parseTensor(c, "fc1Scales", *pc);
  mc.fc2_weights = parseTensor(c, "fc2Weights", *pc);
  mc.fc2_scales = parseTensor(c, "fc2Scales", *pc);
  mc.out1_scale = parseTensor(c, "out1Scale", *pc);
  mc.out1_gate_scale = parseTensor(c, "out1GateScale", *pc);
  mc.out2_scale = parseTensor(c, "out2Scale", *pc);
  mc.swiglu_alpha = parseTensor(c, "swigluAlpha", *pc);
  mc.swiglu_beta = parseTensor(c, "swigluBeta", *pc);
  mc.swiglu_limit = parseTensor(c, "swigluLimit", *pc);
  MoePrepared* handle = nullptr;
  checkCall(env, *lib, "prepare", lib->api->prepare(&pc->c, &handle));
  if (!handle) loadError(env, lib->path, "prepare returned MOE_STATUS_OK but no handle (NULL)");
  pc->handle = handle;
  Napi::Object o = Napi::Object::New(env);
  o.Set("box", Napi::External<std::unique_ptr<PreparedCase>>::New(env, new std::unique_ptr<PreparedCase>(std::move(pc)),
      [](Napi::Env, std::unique_ptr<PreparedCase>* p) {
        // Garbage-collected without release(): free it in the library too.
        if (*p && (*p)->handle) (*p)->lib->api->release((*p)->handle);
        delete p;
      }));
  o.TypeTag(&kCaseTag);
  return o;
}

MoeTensor outTensor(void* data, int32_t dtype, int64_t rows, int64_t cols) {
  MoeTensor t{};
  t.data = data;
  t.dtype = dtype;
  t.device_type = MOE_DEVICE_CPU;
  t.ndim = 2;
  t.shape[0] = rows;
  t.shape[1] = cols;
  t.strides[0] = cols;
  t.strides[1] = 1;
  return t;
}

// run(handle, {tileTokens, config, poison}) -> {output, ids, weights, executed, ms}
Napi::Value Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PreparedCase& pc = requireCase(info[0]);
  if (!info[1].IsObject()) badArgument(env, "options", "{tileTokens, config, poison}", "another value");
  const Napi::Object o = info[1].As<Napi::Object>();
  const MoeProblem& p = pc.problem.p;
  const int64_t poison = integer(o, "poison");
  if (poison < 0 || poison > 0xffff) badArgument(env, "poison", "an integer in [0, 65535]", std::to_string(poison));
  Napi::Uint16Array output = Napi::Uint16Array::New(env, size_t(p.T * p.H));
  for (size_t i = 0; i < output.ElementLength(); ++i) output[i] = uint16_t(poison);
  Napi::Int32Array ids = Napi::Int32Array::New(env, size_t(p.T * p.top_k));
  for (size_t i = 0; i < ids.ElementLength(); ++i) ids[i] = -1;
  Napi::Float32Array weights = Napi::Float32Array::New(env, size_t(p.T * p.top_k));
  for (size_t i = 0; i < weights.ElementLength(); ++i) weights[i] = std::numeric_limits<float>::quiet_NaN();
  MoeRunArgs args{};
  args.struct_size = sizeof args;
  args.tactic.tile_tokens = int32_t(integer(o, "tileTokens"));
  args.tactic.config = int32_t(integer(o, "config"));
  args.poison = uint16_t(poison);
  args.output = outTensor(output.Data(), MOE_DTYPE_BF16, p.T, p.H);
  args.expert_ids = outTensor(ids.Data(), MOE_DTYPE_I32, p.T, p.top_k);
  args.expert_weights = outTensor(weights.Data(), MOE_DTYPE_F32, p.T, p.top_k);
  MoeRunResult result{};
  result.struct_size = sizeof result;
  result.executed = MoeTactic{-1, -1};
  result.kernel_ms = -1;
  checkCall(env, *pc.lib, "run", pc.lib->api->run(pc.handle, &args, &result));
  Napi::Object r = Napi::Object::New(env);
  r.Set("output", output);
  r.Set("ids", ids);
  r.Set("weights", weights);
  r.Set("executed", tacticObject(env, result.executed));
  r.Set("ms", result.kernel_ms);
  return r;
}

// digest(handle) -> "host:<16 hex>[ lib:<library digest>]"
Napi::Value Digest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PreparedCase& pc = requireCase(info[0]);
  // The inputs digest of native/src/inputDigest.h over the host's copies, split over every core.
  uint64_t h = moe::digest::kSeed;
  for (const auto& b : pc.buffers) h = moe::digest::chain(h, b.size(), moe::digest::parallelHostBufferSum(b.data(), b.size()));
  std::string s = std::string("host:") + moe::digest::hex(h);
  if (pc.lib->api->inputs_digest) {
    char buf[256] = {0};
    checkCall(env, *pc.lib, "inputs_digest", pc.lib->api->inputs_digest(pc.handle, buf, sizeof buf));
    buf[sizeof buf - 1] = 0;
    s += std::string(" lib:") + buf;
  }
  return Napi::String::New(env, s);
}

Napi::Value Release(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject() || !info[0].As<Napi::Object>().CheckTypeTag(&kCaseTag)) badArgument(env, "handle", "a handle returned by prepare()", "another value");
  auto* box = info[0].As<Napi::Object>().Get("box").As<Napi::External<std::unique_ptr<PreparedCase>>>().Data();
  if (*box) {
    std::unique_ptr<PreparedCase> pc = std::move(*box);
    MoePrepared* h = pc->handle;
    pc->handle = nullptr;
    checkCall(env, *pc->lib, "release", pc->lib->api->release(h));
  }
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("abiVersion", std::to_string(MOE_KERNEL_ABI_MAJOR) + "." + std::to_string(MOE_KERNEL_ABI_MINOR));
  exports.Set("open", Napi::Function::New(env, Open, "open"));
  exports.Set("describe", Napi::Function::New(env, Describe, "describe"));
  exports.Set("tactics", Napi::Function::New(env, Tactics, "tactics"));
  exports.Set("prepare", Napi::Function::New(env, Prepare, "prepare"));
  exports.Set("run", Napi::Function::New(env, Run, "run"));
  exports.Set("digest", Napi::Function::New(env, Digest, "digest"));
  exports.Set("release", Napi::Function::New(env, Release, "release"));
  return exports;
}

}  // namespace

NODE_API_MODULE(moe_abi_host, Init)
