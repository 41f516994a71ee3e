// The N-API surface of the native MoE (node-addon-api, C++ exceptions). native/index.ts
// is its only caller. GPU work runs in async workers (promises); argument checks run
// synchronously before anything is queued. Errors carry `code`:
//   MOE_BAD_ARGUMENT (argument, expected, actual), MOE_UNSUPPORTED (same fields),
//   MOE_CUDA (cudaName, call, tactic), MOE_UNAVAILABLE, MOE_INTERNAL.
#include <napi.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <thread>

#include "deviceMemoryEstimate.h"
#include "engine.h"
#include "errors.h"
#include "inputDigest.h"
#include "problem_args.h"
#include "tactics.h"

namespace {

using namespace moe;

const napi_type_tag kHandleTag = {0x6d6f652d68617273ull, 0x6e6573732d68646cull};

struct HandleBox {
  std::shared_ptr<Prepared> prepared;
};

// The actual value, for an error message: what JavaScript would show, without running any
// of the caller's code (no getters, no toString). Numbers in the shortest form that reads
// back exactly; strings quoted and escaped, cut at 60 code points with their full length;
// arrays and buffers by kind and length, exactly once.
std::string quoted(const std::string& utf8) {
  std::string out = "\"";
  size_t points = 0, i = 0;
  for (; i < utf8.size() && points < 60; ++points) {
    const unsigned char c = static_cast<unsigned char>(utf8[i]);
    const size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : 4;
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c < 0x20 && std::strchr("\b\f\n\r\t", c) != nullptr && c != 0) {
      out += '\\';
      out += "bfnrt"[std::strchr("\b\f\n\r\t", c) - "\b\f\n\r\t"];
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out.append(utf8, i, len);
    }
    i += len;
  }
  out += "\"";
  if (i < utf8.size()) {
    size_t total = points;
    for (size_t j = i; j < utf8.size(); ++j) total += (static_cast<unsigned char>(utf8[j]) & 0xc0) != 0x80;
    out += "... (" + std::to_string(total) + " characters)";
  }
  return out;
}

// A finite double as JavaScript's String(d) writes it (ECMAScript Number::toString): the
// shortest digits that read back exactly, fixed notation for exponents in [-7, 21), else
// d.ddde±n. -0 is "0", as in JavaScript.
std::string jsNumber(double d) {
  if (d == 0) return "0";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, r.ptr);  // [-]d[.ddd]e[+-]xx
  std::string sign;
  if (sci[0] == '-') {
    sign = "-";
    sci.erase(0, 1);
  }
  const size_t e = sci.find('e');
  std::string digits = sci.substr(0, e);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  const int k = int(digits.size());
  const int n = std::stoi(sci.substr(e + 1)) + 1;  // the decimal point sits after n digits
  std::string out;
  if (k <= n && n <= 21) {
    out = digits + std::string(size_t(n - k), '0');
  } else if (0 < n && n <= 21) {
    out = digits.substr(0, size_t(n)) + "." + digits.substr(size_t(n));
  } else if (-6 < n && n <= 0) {
    out = "0." + std::string(size_t(-n), '0') + digits;
  } else {
    out = digits.substr(0, 1) + (k > 1 ? "." + digits.substr(1) : "") + "e" + (n - 1 >= 0 ? "+" : "-") +
          std::to_string(std::abs(n - 1));
  }
  return sign + out;
}

std::string describe(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? "true" : "false";
  if (v.IsNumber()) {
    const double d = v.As<Napi::Number>().DoubleValue();
    if (std::isnan(d)) return "NaN";
    if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
    return jsNumber(d);
  }
  if (v.IsString()) return quoted(v.As<Napi::String>().Utf8Value());
  if (v.IsTypedArray()) {
    Napi::TypedArray ta = v.As<Napi::TypedArray>();
    const char* name = "TypedArray";
    switch (ta.TypedArrayType()) {
      case napi_int8_array: name = "Int8Array"; break;
      case napi_uint8_array: name = "Uint8Array"; break;
      case napi_uint8_clamped_array: name = "Uint8ClampedArray"; break;
      case napi_int16_array: name = "Int16Array"; break;
      case napi_uint16_array: name = "Uint16Array"; break;
      case napi_int32_array: name = "Int32Array"; break;
      case napi_uint32_array: name = "Uint32Array"; break;
      case napi_float32_array: name = "Float32Array"; break;
      case napi_float64_array: name = "Float64Array"; break;
      case napi_bigint64_array: name = "BigInt64Array"; break;
      case napi_biguint64_array: name = "BigUint64Array"; break;
      default: break;
    }
    return std::string(name) + "(" + std::to_string(ta.ElementLength()) + ")";
  }
  if (v.IsDataView()) return "DataView(" + std::to_string(v.As<Napi::DataView>().ByteLength()) + " bytes)";
  if (v.IsArrayBuffer()) return "ArrayBuffer(" + std::to_string(v.As<Napi::ArrayBuffer>().ByteLength()) + " bytes)";
  if (v.IsArray()) return "Array(" + std::to_string(v.As<Napi::Array>().Length()) + ")";
  if (v.IsFunction()) return "function";
  if (v.IsPromise()) return "a Promise";
  if (v.IsExternal()) return "external";
  napi_valuetype type = napi_undefined;
  if (napi_typeof(v.Env(), v, &type) == napi_ok) {
    if (type == napi_symbol) return "symbol";
    if (type == napi_bigint) {
      int64_t i = 0;
      bool lossless = false;
      if (napi_get_value_bigint_int64(v.Env(), v, &i, &lossless) == napi_ok && lossless) return std::to_string(i) + "n";
      return "a BigInt beyond 64 bits";
    }
  }
  if (v.IsObject()) return "object";
  return "a value of unknown type";
}

Napi::Value errorValue(Napi::Env env, std::exception_ptr ep) {
  try {
    std::rethrow_exception(ep);
  } catch (const BadArgument& e) {
    Napi::Error err = Napi::Error::New(env, e.what());
    err.Set("code", "MOE_BAD_ARGUMENT");
    err.Set("argument", e.argument);
    err.Set("expected", e.expected);
    err.Set("actual", e.actual);
    return err.Value();
  } catch (const Unsupported& e) {
    Napi::Error err = Napi::Error::New(env, e.what());
    err.Set("code", "MOE_UNSUPPORTED");
    err.Set("argument", e.argument);
    err.Set("expected", e.expected);
    err.Set("actual", e.actual);
    return err.Value();
  } catch (const CudaFailure& e) {
    Napi::Error err = Napi::Error::New(env, e.what());
    err.Set("code", "MOE_CUDA");
    err.Set("cudaName", e.cudaName);
    err.Set("call", e.call);
    err.Set("tactic", e.tactic);
    return err.Value();
  } catch (const Unavailable& e) {
    Napi::Error err = Napi::Error::New(env, e.what());
    err.Set("code", "MOE_UNAVAILABLE");
    return err.Value();
  } catch (const Napi::Error& e) {
    return e.Value();
  } catch (const std::bad_alloc&) {
    Napi::Error err = Napi::Error::New(env, "host memory allocation failed (std::bad_alloc)");
    err.Set("code", "MOE_INTERNAL");
    return err.Value();
  } catch (const std::exception& e) {
    Napi::Error err = Napi::Error::New(env, e.what());
    err.Set("code", "MOE_INTERNAL");
    return err.Value();
  } catch (...) {
    Napi::Error err = Napi::Error::New(env, "unknown native error");
    err.Set("code", "MOE_INTERNAL");
    return err.Value();
  }
}

// Run `fn`, turning C++ exceptions into JS exceptions with our error shape.
template <class F>
Napi::Value guarded(Napi::Env env, F&& fn) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw Napi::Error(env, errorValue(env, std::current_exception()));
  }
}

class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, std::function<void()> work, std::function<Napi::Value(Napi::Env)> done)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)), done_(std::move(done)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void KeepAlive(const Napi::Value& v) {
    if (v.IsObject()) keep_.push_back(Napi::Persistent(v.As<Napi::Object>()));
  }

 protected:
  void Execute() override {
    try {
      work_();
    } catch (...) {
      error_ = std::current_exception();
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (error_) {
      deferred_.Reject(errorValue(env, error_));
      return;
    }
    try {
      deferred_.Resolve(done_(env));
    } catch (...) {
      deferred_.Reject(errorValue(env, std::current_exception()));
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<void()> work_;
  std::function<Napi::Value(Napi::Env)> done_;
  std::exception_ptr error_;
  std::vector<Napi::ObjectReference> keep_;
};

// ------------------------------------------------------------------ argument parsing

Napi::Object requireObject(const Napi::Value& v, const std::string& name) {
  if (!v.IsObject() || v.IsArray() || v.IsTypedArray() || v.IsFunction()) throw BadArgument(name, "an object", describe(v));
  return v.As<Napi::Object>();
}

double requireNumber(const Napi::Object& o, const std::string& prefix, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw BadArgument(prefix + key, "a number", describe(v));
  return v.As<Napi::Number>().DoubleValue();
}

int64_t requireInteger(const Napi::Object& o, const std::string& prefix, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw BadArgument(prefix + key, "an integer", describe(v));
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::floor(d) != d || std::fabs(d) > 9007199254740991.0) {
    throw BadArgument(prefix + key, "an integer", describe(v));
  }
  return static_cast<int64_t>(d);
}

int64_t optionalInteger(const Napi::Object& o, const std::string& prefix, const char* key, int64_t fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  return requireInteger(o, prefix, key);
}

ProblemArgs parseProblem(const Napi::Value& value) {
  const Napi::Object o = requireObject(value, "problem");
  const std::string pre = "problem.";
  ProblemArgs p;
  p.T = requireInteger(o, pre, "T");
  p.H = requireInteger(o, pre, "H");
  p.I = requireInteger(o, pre, "I");
  p.E = requireInteger(o, pre, "E");
  p.topK = requireInteger(o, pre, "topK");
  p.localOffset = requireInteger(o, pre, "localOffset");
  p.localExperts = requireInteger(o, pre, "localExperts");
  p.routing = static_cast<Routing>(requireInteger(o, pre, "routingMethod"));
  p.nGroup = optionalInteger(o, pre, "nGroup", 1);
  p.topkGroup = optionalInteger(o, pre, "topkGroup", 1);
  Napi::Value rsf = o.Get("routedScalingFactor");
  p.routedScalingFactor = rsf.IsUndefined() ? 1.0 : requireNumber(o, pre, "routedScalingFactor");
  p.logitsDtype = static_cast<LogitsDtype>(requireInteger(o, pre, "logitsDtype"));
  p.biasDtype = static_cast<BiasDtype>(requireInteger(o, pre, "biasDtype"));
  p.quant = static_cast<QuantMode>(requireInteger(o, pre, "quantMode"));
  p.activation = static_cast<Activation>(requireInteger(o, pre, "activation"));
  // Enum values outside int range would wrap: check before the casts matter.
  for (const char* key : {"routingMethod", "logitsDtype", "biasDtype", "quantMode", "activation"}) {
    const int64_t v = requireInteger(o, pre, key);
    if (v < 0 || v > 16) throw BadArgument(pre + key, "a small non-negative enum value", std::to_string(v));
  }
  return p;
}

TensorArg parseTensor(const Napi::Value& v, const char* key, const std::vector<Napi::Value>* elements = nullptr) {
  TensorArg t;
  if (v.IsUndefined() || v.IsNull()) {
    t.typeName = v.IsUndefined() ? "undefined" : "null";  // Absent, but the message says which
    return t;
  }
  if (v.IsArray() && elements != nullptr) {  // a weight tensor as its Uint8Array parts (per-expert chunks), in order
    // Anything but a non-empty array of Uint8Arrays is refused as the Array it is.
    t.type = elements->empty() ? ElemType::Other : ElemType::U8;
    t.typeName = describe(v);
    for (size_t i = 0; i < elements->size() && t.type == ElemType::U8; ++i) {
      const Napi::Value& e = (*elements)[i];
      const std::string partKey = std::string(key) + "[" + std::to_string(i) + "]";
      TensorArg part = e.IsTypedArray() ? parseTensor(e, partKey.c_str()) : TensorArg{};
      if (part.type != ElemType::U8) {
        t.type = ElemType::Other;
        break;
      }
      t.parts.push_back({part.data, part.length});
      t.length += part.length;
    }
    if (t.type != ElemType::U8) {
      t.parts.clear();
      t.length = 0;
    } else {
      t.typeName += " of Uint8Array parts";
    }
    return t;
  }
  if (!v.IsTypedArray()) {
    t.type = ElemType::Other;
    t.typeName = describe(v);
    return t;
  }
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  t.length = int64_t(ta.ElementLength());
  switch (ta.TypedArrayType()) {
    case napi_uint8_array: t.type = ElemType::U8; break;
    case napi_uint16_array: t.type = ElemType::U16; break;
    case napi_float32_array: t.type = ElemType::F32; break;
    default:
      t.type = ElemType::Other;
      t.typeName = describe(v);
      return t;
  }
  // The data pointer straight from Node-API (already offset; works for SharedArrayBuffer too).
  napi_typedarray_type type;
  size_t length = 0, offset = 0;
  void* data = nullptr;
  napi_value buffer;
  if (napi_get_typedarray_info(ta.Env(), ta, &type, &length, &data, &buffer, &offset) != napi_ok) {
    throw BadArgument(key, "a readable typed array", describe(v));
  }
  t.data = data;
  return t;
}

// Every property is read (which may run the caller's getters) BEFORE any tensor's data
// pointer and length are taken: no JavaScript runs between taking them, validating them and
// copying the bytes (ownedCopy), so a getter cannot shrink or detach a buffer already seen.
CaseArgs parseCase(const Napi::Value& value) {
  const Napi::Object o = requireObject(value, "case");
  CaseArgs c;
  c.problem = parseProblem(o.Get("problem"));
  static const char* const kKeys[14] = {"logits", "bias", "hidden", "hiddenScales", "fc1Packed", "fc1Scales", "fc2Packed",
                                        "fc2Scales", "out1Scale", "out1GateScale", "out2Scale", "swigluAlpha", "swigluBeta",
                                        "swigluLimit"};
  TensorArg* const slots[14] = {&c.logits, &c.bias, &c.hidden, &c.hiddenScales, &c.fc1Packed, &c.fc1Scales, &c.fc2Packed,
                                &c.fc2Scales, &c.out1Scale, &c.out1GateScale, &c.out2Scale, &c.swigluAlpha, &c.swigluBeta,
                                &c.swigluLimit};
  std::vector<Napi::Value> values;
  values.reserve(14);
  for (const char* key : kKeys) values.push_back(o.Get(key));
  // A tensor given as an array of parts: its elements are read here too, before any pointer is taken.
  std::vector<std::vector<Napi::Value>> elements(14);
  for (size_t i = 4; i < 8; ++i) {  // fc1Packed, fc1Scales, fc2Packed, fc2Scales only
    if (!values[i].IsArray()) continue;
    Napi::Array a = values[i].As<Napi::Array>();
    const uint32_t n = a.Length();
    elements[i].reserve(n);
    for (uint32_t j = 0; j < n; ++j) elements[i].push_back(a.Get(j));
  }
  for (size_t i = 0; i < 14; ++i) *slots[i] = parseTensor(values[i], kKeys[i], i >= 4 && i < 8 && values[i].IsArray() ? &elements[i] : nullptr);
  return c;
}

Tactic parseTactic(const Napi::Value& value, const std::string& name) {
  const Napi::Object o = requireObject(value, name);
  Tactic t;
  const int64_t tt = requireInteger(o, name + ".", "tileTokens");
  const int64_t cfg = requireInteger(o, name + ".", "config");
  if (tt < 0 || tt > 1 << 20) throw BadArgument(name + ".tileTokens", "one of 8, 16, 32, 64, 128", std::to_string(tt));
  if (cfg < 0 || cfg > 1 << 20) throw BadArgument(name + ".config", "0, 1 or 2", std::to_string(cfg));
  t.tileTokens = int(tt);
  t.config = int(cfg);
  return t;
}

std::shared_ptr<Prepared> requireHandle(const Napi::Value& v) {
  if (!v.IsObject()) throw BadArgument("handle", "a handle returned by prepare()", describe(v));
  Napi::Object o = v.As<Napi::Object>();
  if (!o.CheckTypeTag(&kHandleTag)) throw BadArgument("handle", "a handle returned by prepare()", describe(v));
  HandleBox* box = o.Get("box").As<Napi::External<HandleBox>>().Data();
  if (!box->prepared) throw BadArgument("handle", "a prepared handle that has not been released", "a released handle");
  return box->prepared;
}

Napi::Object tacticObject(Napi::Env env, const Tactic& t) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("tileTokens", t.tileTokens);
  o.Set("config", t.config);
  return o;
}

// ------------------------------------------------------------------ exported functions

Napi::Value Status(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const BuildInfo b = buildInfo();
  Napi::Object o = Napi::Object::New(env);
  o.Set("builtWithCuda", b.builtWithCuda);
  o.Set("faultsBuild", b.faultsBuild);
  o.Set("reason", b.reason);
  o.Set("napiVersion", NAPI_VERSION);
  o.Set("flushL2", b.builtWithCuda);  // run() accepts options.flushL2Bytes (cold L2)
  return o;
}

Napi::Array names(Napi::Env env, const std::vector<std::string>& v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); ++i) a.Set(uint32_t(i), v[i]);
  return a;
}

Napi::Value Enums(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("routingMethod", names(env, routingNames()));
  o.Set("quantMode", names(env, quantModeNames()));
  o.Set("logitsDtype", names(env, logitsDtypeNames()));
  o.Set("biasDtype", names(env, biasDtypeNames()));
  o.Set("activation", names(env, activationNames()));
  return o;
}

Napi::Value TacticTable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  Napi::Array tiles = Napi::Array::New(env, kNumTileTokens);
  for (int i = 0; i < kNumTileTokens; ++i) tiles.Set(uint32_t(i), kTileTokens[i]);
  o.Set("tileTokens", tiles);
  Napi::Array configs = Napi::Array::New(env, kNumConfigs);
  for (int c = 0; c < kNumConfigs; ++c) {
    const ConfigInfo& ci = configInfo(c);
    Napi::Object e = Napi::Object::New(env);
    e.Set("config", ci.config);
    e.Set("name", ci.name);
    e.Set("description", ci.description);
    e.Set("weightRows", ci.weightRows);
    e.Set("warps", ci.warps);
    e.Set("stages", ci.stages);
    e.Set("splitKFc2", ci.splitKFc2);
    configs.Set(uint32_t(c), e);
  }
  o.Set("configs", configs);
  o.Set("kTile", kKTile);
  return o;
}

Napi::Value ValidTactics(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const ProblemArgs p = parseProblem(info[0]);
    const std::vector<Tactic> v = validTactics(p);
    Napi::Array a = Napi::Array::New(env, v.size());
    for (size_t i = 0; i < v.size(); ++i) a.Set(uint32_t(i), tacticObject(env, v[i]));
    return a;
  });
}

Napi::Value DefaultTactic(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const ProblemArgs p = parseProblem(info[0]);
    std::string why;
    const Tactic t = defaultTactic(p, &why);
    Napi::Object o = tacticObject(env, t);
    o.Set("reason", why);
    return o;
  });
}

Napi::Value CheckTactic(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const ProblemArgs p = parseProblem(info[0]);
    validateProblem(p);
    requireValidTactic(p, parseTactic(info[1], "tactic"));
    return env.Undefined();
  });
}

// streamSplit(problem, tileTokens): config 3's split over K at this problem (tactics.cc) — the
// slices of FC1 and FC2 (0: unsplit), the CTAs of each grid unsplit, K's 1024-element chunks, and
// the FC1 workspace. What the engine launches; no GPU needed.
Napi::Value StreamSplit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const ProblemArgs p = parseProblem(info[0]);
    validateProblem(p);
    const Tactic t = parseTactic(info[1], "tactic");
    if (t.config != 3) throw BadArgument("tactic", "a tactic of config 3 (w64-stream)", tacticLabel(t));
    requireValidTactic(p, t);
    const StreamSplitPlan sp = streamSplitPlan(p, t.tileTokens);
    Napi::Object o = Napi::Object::New(env);
    o.Set("fc1Slices", sp.fc1Slices);
    o.Set("fc2Slices", sp.fc2Slices);
    o.Set("fc1Ctas", double(sp.fc1Ctas));
    o.Set("fc2Ctas", double(sp.fc2Ctas));
    o.Set("fc1Chunks", double(sp.fc1Chunks));
    o.Set("fc2Chunks", double(sp.fc2Chunks));
    o.Set("splitKSlices", splitKSlices(p));
    o.Set("fc1WorkspaceBytes", double(sp.fc1WorkspaceBytes));
    o.Set("splitBelowCtas", double(kStreamSplitBelowCtas));
    return o;
  });
}

Napi::Value DeviceInfoFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto result = std::make_shared<DeviceInfo>();
  auto* w = new PromiseWorker(
      env, [result]() { *result = deviceInfo(); },
      [result](Napi::Env e) -> Napi::Value {
        Napi::Object o = Napi::Object::New(e);
        o.Set("name", result->name);
        o.Set("sm", "sm_" + std::to_string(result->major) + std::to_string(result->minor));
        o.Set("memoryBytes", double(result->memoryBytes));
        o.Set("freeMemoryBytes", double(result->freeMemoryBytes));
        o.Set("multiProcessors", result->multiProcessors);
        return o;
      });
  Napi::Promise promise = w->Promise();
  w->Queue();
  return promise;
}

// deviceMemoryEstimate(problem): the device bytes prepare will need (deviceMemoryEstimate.h),
// from the problem alone; no GPU needed.
Napi::Value DeviceMemoryEstimateFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const ProblemArgs p = parseProblem(info[0]);
    validateProblem(p);
    const DeviceMemoryEstimate e = estimateDeviceMemory(p);
    Napi::Object o = Napi::Object::New(env);
    o.Set("peak", double(e.peak));
    o.Set("inputs", double(e.inputs));
    o.Set("weights", double(e.weights));
    o.Set("staging", double(e.staging));
    o.Set("scratch", double(e.scratch));
    o.Set("splitK", double(e.splitK));
    o.Set("output", double(e.output));
    o.Set("slack", double(e.slack));
    Napi::Array items = Napi::Array::New(env, e.items.size());
    for (size_t i = 0; i < e.items.size(); ++i) {
      Napi::Object it = Napi::Object::New(env);
      it.Set("name", e.items[i].name);
      it.Set("bytes", double(e.items[i].bytes));
      items.Set(uint32_t(i), it);
    }
    o.Set("items", items);
    return o;
  });
}

// The buffers argument of the digest probes: an array of Uint8Array, copied here.
std::shared_ptr<std::vector<std::vector<uint8_t>>> digestBuffers(const Napi::Value& v) {
  if (!v.IsArray()) throw BadArgument("buffers", "an array of Uint8Array", describe(v));
  const Napi::Array a = v.As<Napi::Array>();
  auto out = std::make_shared<std::vector<std::vector<uint8_t>>>();
  for (uint32_t i = 0; i < a.Length(); ++i) {
    const Napi::Value b = a.Get(i);
    if (!b.IsTypedArray() || b.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      throw BadArgument("buffers[" + std::to_string(i) + "]", "a Uint8Array", describe(b));
    }
    const Napi::Uint8Array u = b.As<Napi::Uint8Array>();
    out->emplace_back(u.Data(), u.Data() + u.ByteLength());
  }
  return out;
}

// hostInputsDigest(buffers, threads = "all" | "one"): the inputs digest (inputDigest.h) computed
// on the host: the twin of the device kernel, in every build; "all" splits large buffers over
// every core (the same value: the sum does not depend on the split).
Napi::Value HostInputsDigest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    if (!info[0].IsArray()) throw BadArgument("buffers", "an array of Uint8Array", describe(info[0]));
    bool parallel = true;
    if (!info[1].IsUndefined()) {
      const std::string m = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
      if (m != "all" && m != "one") throw BadArgument("threads", "\"all\" or \"one\"", describe(info[1]));
      parallel = m == "all";
    }
    const Napi::Array a = info[0].As<Napi::Array>();
    uint64_t h = digest::kSeed;
    for (uint32_t i = 0; i < a.Length(); ++i) {
      const Napi::Value b = a.Get(i);
      if (!b.IsTypedArray() || b.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
        throw BadArgument("buffers[" + std::to_string(i) + "]", "a Uint8Array", describe(b));
      }
      const Napi::Uint8Array u = b.As<Napi::Uint8Array>();
      h = digest::chain(h, u.ByteLength(), parallel ? digest::parallelHostBufferSum(u.Data(), u.ByteLength())
                                                    : digest::hostBufferSum(u.Data(), u.ByteLength()));
    }
    return Napi::String::New(env, digest::hex(h));
  });
}

// deviceInputsDigest(buffers): the same digest computed by the device kernel (buffers copied,
// uploaded, hashed on the GPU). Rejects with MOE_UNAVAILABLE without CUDA.
Napi::Value DeviceInputsDigest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto owned = digestBuffers(info[0]);
    auto result = std::make_shared<std::string>();
    auto* w = new PromiseWorker(
        env,
        [owned, result]() {
          std::vector<std::pair<const void*, uint64_t>> spans;
          for (const auto& b : *owned) spans.emplace_back(b.data(), b.size());
          *result = digestOnDevice(spans);
        },
        [result](Napi::Env e) -> Napi::Value { return Napi::String::New(e, *result); });
    Napi::Promise promise = w->Promise();
    w->Queue();
    return promise;
  });
}

Napi::Value Prepare(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const CaseArgs c = parseCase(info[0]);
    validateCase(c);
    // Copied here, on the calling thread, before the promise exists: the worker reads only
    // these bytes, whatever the caller does to its buffers afterwards.
    std::shared_ptr<const OwnedCase> owned = ownedCopy(c);
    auto slot = std::make_shared<std::shared_ptr<Prepared>>();
    auto* w = new PromiseWorker(
        env, [owned, slot]() { *slot = std::shared_ptr<Prepared>(prepareCase(owned->args).release()); },
        [slot](Napi::Env e) -> Napi::Value {
          Napi::Object h = Napi::Object::New(e);
          auto* box = new HandleBox{*slot};
          h.Set("box", Napi::External<HandleBox>::New(e, box, [](Napi::Env, HandleBox* b) { delete b; }));
          h.TypeTag(&kHandleTag);
          return h;
        });
    Napi::Promise promise = w->Promise();
    w->Queue();
    return promise;
  });
}

// Test probe of prepare's copy: the same parse, validation and copy as prepare, then a
// worker thread that waits `delayMs` (0..10000) and hashes the bytes it was handed
// (hostDigest). Needs no GPU; lets a CPU test change the caller's buffers while the worker
// waits and show that what the worker reads is what was passed.
Napi::Value CopiedInputsDigest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const CaseArgs c = parseCase(info[0]);
    validateCase(c);
    std::shared_ptr<const OwnedCase> owned = ownedCopy(c);
    int64_t delay = 0;
    if (!info[1].IsUndefined()) {
      if (!info[1].IsNumber()) throw BadArgument("delayMs", "an integer in [0, 10000]", describe(info[1]));
      const double d = info[1].As<Napi::Number>().DoubleValue();
      if (!(d >= 0 && d <= 10000) || std::floor(d) != d) throw BadArgument("delayMs", "an integer in [0, 10000]", describe(info[1]));
      delay = int64_t(d);
    }
    auto result = std::make_shared<std::string>();
    auto* w = new PromiseWorker(
        env,
        [owned, delay, result]() {
          std::this_thread::sleep_for(std::chrono::milliseconds(delay));
          *result = hostDigest(owned->args);
        },
        [result](Napi::Env e) -> Napi::Value { return Napi::String::New(e, *result); });
    Napi::Promise promise = w->Promise();
    w->Queue();
    return promise;
  });
}

Napi::Value Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const Napi::Object opts = requireObject(info[1], "options");
    RunOptions ro;
    ro.tactic = parseTactic(opts.Get("tactic"), "options.tactic");
    const int64_t poison = optionalInteger(opts, "options.", "poison", 0x7fc1);
    if (poison < 0 || poison > 0xffff) throw BadArgument("options.poison", "an integer in [0, 65535] (uint16 pattern)", std::to_string(poison));
    ro.poison = uint16_t(poison);
    const int64_t fault = optionalInteger(opts, "options.", "fault", 0);
    if (fault != 0 && !buildInfo().faultsBuild) {
      throw BadArgument("options.fault", "0 (this addon was built without MOE_FAULTS; use the faults build)", std::to_string(fault));
    }
    if (fault < 0 || fault > kLastFaultCode) {
      throw BadArgument("options.fault", "a fault code in [0, " + std::to_string(kLastFaultCode) + "]", std::to_string(fault));
    }
    ro.fault = int(fault);
    const int64_t flush = optionalInteger(opts, "options.", "flushL2Bytes", 0);
    if (flush < 0 || flush > (int64_t(1) << 36)) {
      throw BadArgument("options.flushL2Bytes", "an integer number of bytes in [0, 2^36] (cold-L2 scratch written before the timed region)", std::to_string(flush));
    }
    ro.flushL2Bytes = flush;
    std::shared_ptr<Prepared> prepared = requireHandle(info[0]);
    requireValidTactic(prepared->problem(), ro.tactic);
    auto out = std::make_shared<RunOutputs>();
    auto* w = new PromiseWorker(
        env, [prepared, ro, out]() { prepared->run(ro, *out); },
        [out](Napi::Env e) -> Napi::Value {
          Napi::Object o = Napi::Object::New(e);
          Napi::Uint16Array output = Napi::Uint16Array::New(e, out->output.size());
          if (!out->output.empty()) std::memcpy(output.Data(), out->output.data(), out->output.size() * 2);
          Napi::Int32Array ids = Napi::Int32Array::New(e, out->ids.size());
          if (!out->ids.empty()) std::memcpy(ids.Data(), out->ids.data(), out->ids.size() * 4);
          Napi::Float32Array weights = Napi::Float32Array::New(e, out->weights.size());
          if (!out->weights.empty()) std::memcpy(weights.Data(), out->weights.data(), out->weights.size() * 4);
          o.Set("output", output);
          o.Set("ids", ids);
          o.Set("weights", weights);
          o.Set("ms", out->ms);
          o.Set("flushedL2Bytes", double(out->flushedL2Bytes));
          return o;
        });
    Napi::Promise promise = w->Promise();
    w->Queue();
    return promise;
  });
}

Napi::Value Digest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    std::shared_ptr<Prepared> prepared = requireHandle(info[0]);
    auto result = std::make_shared<std::string>();
    auto* w = new PromiseWorker(
        env, [prepared, result]() { *result = prepared->digest(); },
        [result](Napi::Env e) -> Napi::Value { return Napi::String::New(e, *result); });
    Napi::Promise promise = w->Promise();
    w->Queue();
    return promise;
  });
}

Napi::Value Release(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    if (!info[0].IsObject() || !info[0].As<Napi::Object>().CheckTypeTag(&kHandleTag)) {
      throw BadArgument("handle", "a handle returned by prepare()", describe(info[0]));
    }
    HandleBox* box = info[0].As<Napi::Object>().Get("box").As<Napi::External<HandleBox>>().Data();
    if (box->prepared) {
      box->prepared->release();  // waits for a run in flight on this handle
      box->prepared.reset();
    }
    return env.Undefined();
  });
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("status", Napi::Function::New(env, Status, "status"));
  exports.Set("enums", Napi::Function::New(env, Enums, "enums"));
  exports.Set("tacticTable", Napi::Function::New(env, TacticTable, "tacticTable"));
  exports.Set("validTactics", Napi::Function::New(env, ValidTactics, "validTactics"));
  exports.Set("defaultTactic", Napi::Function::New(env, DefaultTactic, "defaultTactic"));
  exports.Set("checkTactic", Napi::Function::New(env, CheckTactic, "checkTactic"));
  exports.Set("deviceInfo", Napi::Function::New(env, DeviceInfoFn, "deviceInfo"));
  exports.Set("prepare", Napi::Function::New(env, Prepare, "prepare"));
  exports.Set("run", Napi::Function::New(env, Run, "run"));
  exports.Set("digest", Napi::Function::New(env, Digest, "digest"));
  exports.Set("release", Napi::Function::New(env, Release, "release"));
  exports.Set("copiedInputsDigest", Napi::Function::New(env, CopiedInputsDigest, "copiedInputsDigest"));
  exports.Set("streamSplit", Napi::Function::New(env, StreamSplit, "streamSplit"));
  exports.Set("deviceMemoryEstimate", Napi::Function::New(env, DeviceMemoryEstimateFn, "deviceMemoryEstimate"));
  exports.Set("hostInputsDigest", Napi::Function::New(env, HostInputsDigest, "hostInputsDigest"));
  exports.Set("deviceInputsDigest", Napi::Function::New(env, DeviceInputsDigest, "deviceInputsDigest"));
  return exports;
}

}  // namespace

NODE_API_MODULE(moe_native, Init)
