#include "problem_args.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <system_error>
#include <thread>

#include "errors.h"

namespace moe {

const std::vector<std::string>& routingNames() {
  static const std::vector<std::string> v = {"default", "renormalize", "renormalize_naive", "deepseek_v3", "llama4", "topk"};
  return v;
}
const std::vector<std::string>& quantModeNames() {
  static const std::vector<std::string> v = {"nvfp4", "mxfp4_mxfp8", "mxfp4_bf16"};
  return v;
}
const std::vector<std::string>& logitsDtypeNames() {
  static const std::vector<std::string> v = {"float32", "bfloat16"};
  return v;
}
const std::vector<std::string>& biasDtypeNames() {
  static const std::vector<std::string> v = {"none", "float32", "bfloat16"};
  return v;
}
const std::vector<std::string>& activationNames() {
  static const std::vector<std::string> v = {"swiglu", "swiglu_clamped"};
  return v;
}

const char* elemTypeName(ElemType t) {
  switch (t) {
    case ElemType::Absent: return "null";
    case ElemType::U8: return "Uint8Array";
    case ElemType::U16: return "Uint16Array";
    case ElemType::F32: return "Float32Array";
    default: return "another type";
  }
}

namespace {

std::string str(int64_t v) { return std::to_string(v); }

void requireInt(bool ok, const char* arg, const std::string& expected, int64_t actual) {
  if (!ok) throw BadArgument(arg, expected, str(actual));
}

template <class Enum>
void requireEnum(Enum e, const std::vector<std::string>& names, const char* arg) {
  int v = static_cast<int>(e);
  if (v < 0 || v >= static_cast<int>(names.size())) {
    std::string exp = "one of";
    for (size_t i = 0; i < names.size(); ++i) exp += (i ? ", " : " ") + std::to_string(i) + " (" + names[i] + ")";
    throw BadArgument(arg, exp, str(v));
  }
}

}  // namespace

void validateProblem(const ProblemArgs& p) {
  requireEnum(p.quant, quantModeNames(), "quantMode");
  requireEnum(p.routing, routingNames(), "routing.method");
  requireEnum(p.logitsDtype, logitsDtypeNames(), "logitsDtype");
  requireEnum(p.biasDtype, biasDtypeNames(), "biasDtype");
  requireEnum(p.activation, activationNames(), "activation.kind");
  const int64_t blk = weightBlock(p.quant);
  requireInt(p.T >= 1, "T", "an integer >= 1", p.T);
  requireInt(p.H >= 1 && p.H % blk == 0, "H", "a positive multiple of " + str(blk) + " (block size of " +
             quantModeNames()[int(p.quant)] + ")", p.H);
  requireInt(p.I >= 1 && p.I % blk == 0, "I", "a positive multiple of " + str(blk) + " (block size of " +
             quantModeNames()[int(p.quant)] + ")", p.I);
  requireInt(p.E >= 1, "E", "an integer >= 1", p.E);
  requireInt(p.topK >= 1 && p.topK <= p.E, "topK", "an integer in [1, E=" + str(p.E) + "]", p.topK);
  requireInt(p.localOffset >= 0 && p.localOffset < p.E, "localOffset", "an integer in [0, E=" + str(p.E) + ")", p.localOffset);
  requireInt(p.localExperts >= 1 && p.localOffset + p.localExperts <= p.E, "localExperts",
             "an integer in [1, E - localOffset = " + str(p.E - p.localOffset) + "]", p.localExperts);
  if (p.routing == Routing::Llama4 && p.topK != 1) throw BadArgument("topK", "1 for method llama4 (top-1 routing)", str(p.topK));
  if (p.routing == Routing::DeepseekV3) {
    requireInt(p.nGroup >= 1, "routing.nGroup", "an integer >= 1", p.nGroup);
    requireInt(p.topkGroup >= 1 && p.topkGroup <= p.nGroup, "routing.topkGroup",
               "an integer in [1, nGroup=" + str(p.nGroup) + "]", p.topkGroup);
    if (!std::isfinite(p.routedScalingFactor)) {
      // As JavaScript writes it (not C++'s "nan"/"inf").
      throw BadArgument("routing.routedScalingFactor", "a finite number",
                        std::isnan(p.routedScalingFactor) ? "NaN" : p.routedScalingFactor > 0 ? "Infinity" : "-Infinity");
    }
    if (p.nGroup > 1) {
      requireInt(p.nGroup <= 8, "routing.nGroup", "<= 8 (deepseek_v3 grouped routing)", p.nGroup);
      requireInt(p.topkGroup <= 4, "routing.topkGroup", "<= 4 (deepseek_v3 grouped routing)", p.topkGroup);
      if (p.E % p.nGroup != 0) throw BadArgument("E", "a multiple of routing.nGroup=" + str(p.nGroup) + " (deepseek_v3 grouped routing)", str(p.E));
      const int64_t size = p.E / p.nGroup;
      if (size < 2 || size > 32) {
        throw BadArgument("E/routing.nGroup", "experts per group in [2, 32] (deepseek_v3 grouped routing)",
                          str(p.E) + "/" + str(p.nGroup) + " = " + str(size));
      }
      if (!(p.topK < p.topkGroup * size)) {
        throw BadArgument("topK", "< topkGroup·E/nGroup = " + str(p.topkGroup * size) + " (deepseek_v3 grouped routing)", str(p.topK));
      }
    }
  } else if (p.biasDtype != BiasDtype::None) {
    throw BadArgument("biasDtype", "none (only deepseek_v3 reads a routing bias)", biasDtypeNames()[int(p.biasDtype)]);
  }
  // Limits of this implementation.
  if (p.E > kMaxExperts) throw Unsupported("E", "<= " + str(kMaxExperts), str(p.E));
  if (p.topK > kMaxTopK) throw Unsupported("topK", "<= " + str(kMaxTopK), str(p.topK));
  if (p.H > kMaxDim) throw Unsupported("H", "<= " + str(kMaxDim), str(p.H));
  if (p.I > kMaxDim) throw Unsupported("I", "<= " + str(kMaxDim), str(p.I));
  if (p.T > kMaxSlots || p.T * p.topK > kMaxSlots) {
    throw Unsupported("T·topK", "<= " + str(kMaxSlots), str(p.T) + "·" + str(p.topK));
  }
}

namespace {

void requireTensor(const TensorArg& t, const char* name, ElemType type, int64_t length, const std::string& shape) {
  if (t.type != type) {
    // typeName already describes the value in full ("Int32Array(6)", "Array(3)", "object"):
    // only our own element types get "(length)" appended here.
    std::string actual = t.type == ElemType::Absent ? (t.typeName.empty() ? std::string("null") : t.typeName)
                         : t.type == ElemType::Other ? (t.typeName.empty() ? std::string("a value of another type") : t.typeName)
                                                     : std::string(elemTypeName(t.type)) + "(" + str(t.length) + ")";
    throw BadArgument(name, std::string(elemTypeName(type)) + (type == ElemType::Absent ? "" : " " + shape), actual);
  }
  if (type != ElemType::Absent && t.length != length) {
    throw BadArgument(name, std::string(elemTypeName(type)) + " of length " + str(length) + " " + shape,
                      t.parts.empty() ? std::string(elemTypeName(t.type)) + "(" + str(t.length) + ")"
                                      : t.typeName + ", " + str(t.length) + " bytes in all");
  }
}

}  // namespace

void validateCase(const CaseArgs& c) {
  const ProblemArgs& p = c.problem;
  validateProblem(p);
  const int64_t T = p.T, H = p.H, I = p.I, E = p.E, El = p.localExperts, sf = weightBlock(p.quant);
  requireTensor(c.logits, "logits", p.logitsDtype == LogitsDtype::F32 ? ElemType::F32 : ElemType::U16, T * E,
                "[T, E] = [" + str(T) + ", " + str(E) + "]");
  if (p.biasDtype == BiasDtype::None) {
    requireTensor(c.bias, "bias", ElemType::Absent, 0, "");
  } else {
    requireTensor(c.bias, "bias", p.biasDtype == BiasDtype::F32 ? ElemType::F32 : ElemType::U16, E, "[E] = [" + str(E) + "]");
  }
  switch (p.quant) {
    case QuantMode::Nvfp4:
      requireTensor(c.hidden, "hidden.packed", ElemType::U8, T * H / 2, "[T, H/2] = [" + str(T) + ", " + str(H / 2) + "]");
      requireTensor(c.hiddenScales, "hidden.scales", ElemType::U8, T * H / 16, "[T, H/16] = [" + str(T) + ", " + str(H / 16) + "]");
      break;
    case QuantMode::Mxfp4Mxfp8:
      requireTensor(c.hidden, "hidden.data", ElemType::U8, T * H, "[T, H] = [" + str(T) + ", " + str(H) + "]");
      requireTensor(c.hiddenScales, "hidden.scales", ElemType::U8, T * H / 32, "[T, H/32] = [" + str(T) + ", " + str(H / 32) + "]");
      break;
    case QuantMode::Mxfp4Bf16:
      requireTensor(c.hidden, "hidden.data", ElemType::U16, T * H, "[T, H] = [" + str(T) + ", " + str(H) + "] of bf16 bits");
      requireTensor(c.hiddenScales, "hidden.scales", ElemType::Absent, 0, "");
      break;
  }
  const std::string el = str(El);
  requireTensor(c.fc1Packed, "fc1.packed", ElemType::U8, El * 2 * I * H / 2,
                "[El, 2I, H/2] = [" + el + ", " + str(2 * I) + ", " + str(H / 2) + "]");
  requireTensor(c.fc1Scales, "fc1.scales", ElemType::U8, El * 2 * I * H / sf,
                "[El, 2I, H/" + str(sf) + "] = [" + el + ", " + str(2 * I) + ", " + str(H / sf) + "]");
  requireTensor(c.fc2Packed, "fc2.packed", ElemType::U8, El * H * I / 2,
                "[El, H, I/2] = [" + el + ", " + str(H) + ", " + str(I / 2) + "]");
  requireTensor(c.fc2Scales, "fc2.scales", ElemType::U8, El * H * I / sf,
                "[El, H, I/" + str(sf) + "] = [" + el + ", " + str(H) + ", " + str(I / sf) + "]");
  requireTensor(c.out1Scale, "out1Scale", ElemType::F32, El, "[El] = [" + el + "]");
  requireTensor(c.out1GateScale, "out1GateScale", ElemType::F32, El, "[El] = [" + el + "]");
  requireTensor(c.out2Scale, "out2Scale", ElemType::F32, El, "[El] = [" + el + "]");
  if (p.activation == Activation::SwigluClamped) {
    requireTensor(c.swigluAlpha, "swiglu.alpha", ElemType::F32, El, "[El] = [" + el + "]");
    requireTensor(c.swigluBeta, "swiglu.beta", ElemType::F32, El, "[El] = [" + el + "]");
    requireTensor(c.swigluLimit, "swiglu.limit", ElemType::F32, El, "[El] = [" + el + "]");
  } else {
    requireTensor(c.swigluAlpha, "swiglu.alpha", ElemType::Absent, 0, "");
    requireTensor(c.swigluBeta, "swiglu.beta", ElemType::Absent, 0, "");
    requireTensor(c.swigluLimit, "swiglu.limit", ElemType::Absent, 0, "");
  }
}

namespace {

size_t elementBytes(ElemType t) { return t == ElemType::U8 ? 1 : t == ElemType::U16 ? 2 : t == ElemType::F32 ? 4 : 0; }

template <class F>
void forEachTensor(CaseArgs& c, F&& f) {
  for (TensorArg* t : {&c.logits, &c.bias, &c.hidden, &c.hiddenScales, &c.fc1Packed, &c.fc1Scales, &c.fc2Packed,
                       &c.fc2Scales, &c.out1Scale, &c.out1GateScale, &c.out2Scale, &c.swigluAlpha, &c.swigluBeta,
                       &c.swigluLimit})
    f(*t);
}

}  // namespace

int ownedCopyThreads(uint64_t bytes) {
  constexpr uint64_t kPiece = uint64_t(64) << 20;
  const uint64_t pieces = std::max<uint64_t>(1, (bytes + kPiece - 1) / kPiece);
  int threads = 0;
  if (const char* env = std::getenv("MOE_NATIVE_COPY_THREADS"); env != nullptr && *env != '\0') {
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (*end != '\0' || v < 1 || v > 64) {
      throw BadArgument("MOE_NATIVE_COPY_THREADS", "an integer in [1, 64] (threads of prepare's host copy)", std::string(env));
    }
    threads = int(v);
  } else if (bytes < (uint64_t(256) << 20)) {
    return 1;  // thread start-up would cost more than it saves
  } else {
    threads = int(std::min<unsigned>(16u, std::max(1u, std::thread::hardware_concurrency())));
  }
  return int(std::min<uint64_t>(uint64_t(threads), pieces));
}

std::shared_ptr<const OwnedCase> ownedCopy(const CaseArgs& c) {
  // One copy job per contiguous source range (a tensor, or one part of a tensor given in
  // parts), cut into 64 MiB pieces that the threads take in turn. Each destination page is
  // first written by the thread that copies it (no zero-fill beforehand).
  struct Piece {
    uint8_t* dst;
    const uint8_t* src;
    size_t bytes;
  };
  constexpr size_t kPiece = size_t(64) << 20;
  auto owned = std::make_shared<OwnedCase>();
  owned->args = c;
  owned->storage.reserve(14);
  std::vector<Piece> pieces;
  uint64_t total = 0;
  forEachTensor(owned->args, [&](TensorArg& t) {
    const size_t n = size_t(t.length) * elementBytes(t.type);
    if ((t.data == nullptr && t.parts.empty()) || n == 0) return;
    owned->storage.emplace_back(new uint8_t[n]);  // default-initialized: no zero-fill
    uint8_t* dst = owned->storage.back().get();
    auto add = [&](const void* src, size_t bytes) {
      for (size_t off = 0; off < bytes; off += kPiece) {
        pieces.push_back({dst + off, static_cast<const uint8_t*>(src) + off, std::min(kPiece, bytes - off)});
      }
      dst += bytes;
      total += bytes;
    };
    if (t.parts.empty()) {
      add(t.data, n);
    } else {  // parts, in order, into one buffer (their total was validated as the tensor's length)
      for (const TensorPart& part : t.parts) add(part.data, size_t(part.length));
      t.parts.clear();
    }
    t.data = owned->storage.back().get();
  });
  const int threads = ownedCopyThreads(total);
  if (threads <= 1) {
    for (const Piece& p : pieces) std::memcpy(p.dst, p.src, p.bytes);
    return owned;
  }
  std::atomic<size_t> next{0};
  auto work = [&]() {
    for (size_t i = next.fetch_add(1); i < pieces.size(); i = next.fetch_add(1)) {
      std::memcpy(pieces[i].dst, pieces[i].src, pieces[i].bytes);
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(size_t(threads - 1));
  try {
    for (int i = 1; i < threads; ++i) pool.emplace_back(work);
  } catch (const std::system_error&) {
    // A thread that cannot start: the threads that did, and this one, copy every piece.
  }
  work();
  for (std::thread& th : pool) th.join();
  return owned;
}

std::string hostDigest(const CaseArgs& c) {
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&h](uint8_t b) {
    h ^= b;
    h *= 0x100000001b3ull;
  };
  CaseArgs copy = c;
  forEachTensor(copy, [&](TensorArg& t) {
    const uint64_t n = uint64_t(t.length) * elementBytes(t.type);
    for (int i = 0; i < 8; ++i) mix(uint8_t(n >> (8 * i)));
    const uint8_t* p = static_cast<const uint8_t*>(t.data);
    if (p != nullptr) for (uint64_t i = 0; i < n; ++i) mix(p[i]);
    for (const TensorPart& part : t.parts) {  // a tensor given in parts hashes as their concatenation
      const uint8_t* q = static_cast<const uint8_t*>(part.data);
      for (int64_t i = 0; i < part.length; ++i) mix(q[i]);
    }
  });
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string describeProblem(const ProblemArgs& p) {
  std::ostringstream os;
  os << "T=" << p.T << " H=" << p.H << " I=" << p.I << " E=" << p.E << "[" << p.localOffset << "+" << p.localExperts
     << "] k=" << p.topK << " " << routingNames()[int(p.routing)] << " " << quantModeNames()[int(p.quant)];
  return os.str();
}

}  // namespace moe
