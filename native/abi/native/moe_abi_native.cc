// libmoe_abi_native.so: our own CUDA FP4 MoE (native/src/engine.h) behind the C ABI
// (native/include/moe_kernel_abi.h), a thin wrapper, so that the GPU suite can judge it
// through the C ABI door exactly as it judges it through the direct addon
// (harness/kernels/libDoors.gpu.test.ts: same dispositions, bit-identical outputs).
//
// Faults: libmoe_abi_native_faults.so (the same file linked with the engine's faults build,
// node native/build.mjs --faults) runs the fault of harness/faults.ts whose code is in the
// environment variable MOE_ABI_NATIVE_FAULT (read at every run; unset or 0: none). The
// release library refuses the variable rather than ignore it.
//
// Tactics: the engine's one table (native/src/tactics.h), every (tileTokens, config) pair
// listed, can_implement = tacticInvalidReason. Errors: BadArgument -> BAD_ARGUMENT,
// Unsupported -> UNSUPPORTED, CudaFailure -> DEVICE_ERROR, Unavailable (built without CUDA)
// -> UNSUPPORTED with the build's reason.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "../abi_support.h"
#include "engine.h"
#include "errors.h"
#include "moe_kernel_abi.h"
#include "problem_args.h"
#include "tactics.h"

using namespace moe_abi;

namespace {

// Run `fn`, turning the engine's exceptions into statuses (then abi_support's guarded).
template <class F>
MoeStatus call(const char* name, F&& fn) {
  return guarded(name, [&] {
    try {
      fn();
    } catch (const moe::BadArgument& e) {
      fail(MOE_STATUS_BAD_ARGUMENT, e.what());
    } catch (const moe::Unsupported& e) {
      fail(MOE_STATUS_UNSUPPORTED, e.what());
    } catch (const moe::CudaFailure& e) {
      fail(MOE_STATUS_DEVICE_ERROR, e.what());
    } catch (const moe::Unavailable& e) {
      fail(MOE_STATUS_UNSUPPORTED, std::string("device: ") + e.what());
    }
  });
}

template <class Enum>
Enum enumByName(const char* name, const std::vector<std::string>& names, const char* arg) {
  if (name) {
    for (size_t i = 0; i < names.size(); ++i) if (names[i] == name) return static_cast<Enum>(int(i));
  }
  std::string all;
  for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
  fail(MOE_STATUS_UNSUPPORTED, std::string(arg) + ": expected one of " + all + ", got " + nameOr(name));
}

moe::ProblemArgs problemArgs(const MoeProblem* p) {
  if (!p) badArgument("problem", "a MoeProblem pointer", "NULL");
  if (p->struct_size < sizeof(MoeProblem)) badArgument("problem.struct_size", format(">= %zu", sizeof(MoeProblem)), std::to_string(p->struct_size));
  moe::ProblemArgs a;
  a.T = p->T;
  a.H = p->H;
  a.I = p->I;
  a.E = p->E;
  a.topK = p->top_k;
  a.localOffset = p->local_offset;
  a.localExperts = p->local_experts;
  a.routing = enumByName<moe::Routing>(p->routing_method, moe::routingNames(), "problem.routing_method");
  a.nGroup = p->n_group;
  a.topkGroup = p->topk_group;
  a.routedScalingFactor = p->routed_scaling_factor;
  if (p->logits_dtype != MOE_DTYPE_F32 && p->logits_dtype != MOE_DTYPE_BF16) badArgument("problem.logits_dtype", "f32 or bf16", dtypeName(p->logits_dtype));
  a.logitsDtype = p->logits_dtype == MOE_DTYPE_F32 ? moe::LogitsDtype::F32 : moe::LogitsDtype::Bf16;
  switch (p->bias_dtype) {
    case MOE_DTYPE_NONE: a.biasDtype = moe::BiasDtype::None; break;
    case MOE_DTYPE_F32: a.biasDtype = moe::BiasDtype::F32; break;
    case MOE_DTYPE_BF16: a.biasDtype = moe::BiasDtype::Bf16; break;
    default: badArgument("problem.bias_dtype", "none, f32 or bf16", dtypeName(p->bias_dtype));
  }
  a.quant = enumByName<moe::QuantMode>(p->quant_mode, moe::quantModeNames(), "problem.quant_mode");
  a.activation = enumByName<moe::Activation>(p->activation, moe::activationNames(), "problem.activation");
  return a;
}

moe::TensorArg tensorArg(const MoeTensor& t) {
  moe::TensorArg a;
  if (t.dtype == MOE_DTYPE_NONE) return a;
  a.data = t.data;
  a.length = elements(t);
  switch (t.dtype) {
    case MOE_DTYPE_F32: a.type = moe::ElemType::F32; a.typeName = "f32"; break;
    case MOE_DTYPE_BF16: a.type = moe::ElemType::U16; a.typeName = "bf16"; break;
    case MOE_DTYPE_E2M1X2: case MOE_DTYPE_E4M3: case MOE_DTYPE_UE8M0: a.type = moe::ElemType::U8; a.typeName = dtypeName(t.dtype); break;
    default: a.type = moe::ElemType::Other; a.typeName = dtypeName(t.dtype); break;
  }
  return a;
}

moe::Tactic engineTactic(const MoeTactic& t) {
  moe::Tactic e;
  e.tileTokens = t.tile_tokens;
  e.config = t.config;
  return e;
}

// The fault code asked for by MOE_ABI_NATIVE_FAULT (0: none).
int requestedFault() {
  const char* env = std::getenv("MOE_ABI_NATIVE_FAULT");
  if (!env || !*env || std::strcmp(env, "0") == 0) return 0;
  char* end = nullptr;
  const long code = std::strtol(env, &end, 10);
  if (*end != 0 || code < 1 || code > 12) badArgument("MOE_ABI_NATIVE_FAULT", "a fault code of harness/faults.ts in [1, 12] (or unset)", std::string("\"") + env + "\"");
  if (!moe::buildInfo().faultsBuild) {
    badArgument("MOE_ABI_NATIVE_FAULT", "unset with libmoe_abi_native.so (faults need libmoe_abi_native_faults.so: node native/build.mjs --faults)", env);
  }
  return int(code);
}

struct Prepared {
  std::unique_ptr<moe::Prepared> engine;
  int64_t T = 0, H = 0, k = 0;
  moe::RunOutputs out;
};

std::string g_buildId;
std::string g_device;

MoeStatus describe(MoeKernelDescription* d) {
  static const char* const quant[] = {"nvfp4", "mxfp4_mxfp8", "mxfp4_bf16"};
  static const char* const routing[] = {"default", "renormalize", "renormalize_naive", "deepseek_v3", "llama4", "topk"};
  return call("describe", [&] {
    if (!d || d->struct_size < sizeof(MoeKernelDescription)) badArgument("describe(out)", "a MoeKernelDescription with struct_size set", d ? std::to_string(d->struct_size) : "NULL");
    const moe::BuildInfo b = moe::buildInfo();
    g_buildId = std::string("moe-harness native engine; ") + (b.builtWithCuda ? "CUDA " : "no CUDA: ") + b.reason +
                (b.faultsBuild ? "; faults build" : "") + "; " __DATE__;
    try {
      const moe::DeviceInfo di = moe::deviceInfo();
      g_device = di.name + " (sm_" + std::to_string(di.major) + std::to_string(di.minor) + ")";
    } catch (const std::exception& e) {
      g_device = std::string("no usable device: ") + e.what();
    }
    d->name = "moe-harness-native";
    d->build_id = g_buildId.c_str();
    d->device = g_device.c_str();
    d->quant_modes = quant;
    d->n_quant_modes = 3;
    d->routing_methods = routing;
    d->n_routing_methods = 6;
    d->conventions = nullptr;
    d->n_conventions = 0;
  });
}

MoeStatus listTactics(const MoeProblem* p, MoeTactic* out, int64_t capacity, int64_t* count) {
  return call("list_tactics", [&] {
    const moe::ProblemArgs a = problemArgs(p);
    moe::validateProblem(a);
    if (!count) badArgument("list_tactics(count)", "a pointer", "NULL");
    int64_t n = 0;
    for (int c = 0; c < moe::kNumConfigs; ++c) {
      for (int i = 0; i < moe::kNumTileTokens; ++i) {
        if (out && n < capacity) out[n] = MoeTactic{moe::kTileTokens[i], c};
        ++n;
      }
    }
    *count = n;
  });
}

MoeStatus canImplement(const MoeProblem* p, MoeTactic t, int32_t* ok, char* reason, int64_t cap) {
  return call("can_implement", [&] {
    const moe::ProblemArgs a = problemArgs(p);
    moe::validateProblem(a);
    if (!ok) badArgument("can_implement(ok)", "a pointer", "NULL");
    const std::string why = moe::tacticInvalidReason(a, engineTactic(t));
    *ok = why.empty() ? 1 : 0;
    copyText(why, reason, cap);
  });
}

MoeStatus workspaceSize(const MoeProblem* p, MoeTactic t, uint64_t* bytes) {
  return call("workspace_size", [&] {
    const moe::ProblemArgs a = problemArgs(p);
    moe::validateProblem(a);
    if (!bytes) badArgument("workspace_size(bytes)", "a pointer", "NULL");
    *bytes = t.config == 2 ? uint64_t(moe::splitKWorkspaceBytes(a)) : 0;
  });
}

MoeStatus prepare(const MoeCase* c, MoePrepared** out) {
  return call("prepare", [&] {
    if (!out) badArgument("prepare(out)", "a pointer", "NULL");
    if (!c || c->struct_size < sizeof(MoeCase)) badArgument("case", "a MoeCase with struct_size set", c ? std::to_string(c->struct_size) : "NULL");
    moe::CaseArgs a;
    a.problem = problemArgs(&c->problem);
    moe::validateProblem(a.problem);
    expectCaseTensors(*c);
    a.logits = tensorArg(c->logits);
    a.bias = tensorArg(c->bias);
    a.hidden = tensorArg(c->hidden);
    a.hiddenScales = tensorArg(c->hidden_scales);
    a.fc1Packed = tensorArg(c->fc1_weights);
    a.fc1Scales = tensorArg(c->fc1_scales);
    a.fc2Packed = tensorArg(c->fc2_weights);
    a.fc2Scales = tensorArg(c->fc2_scales);
    a.out1Scale = tensorArg(c->out1_scale);
    a.out1GateScale = tensorArg(c->out1_gate_scale);
    a.out2Scale = tensorArg(c->out2_scale);
    a.swigluAlpha = tensorArg(c->swiglu_alpha);
    a.swigluBeta = tensorArg(c->swiglu_beta);
    a.swigluLimit = tensorArg(c->swiglu_limit);
    moe::validateCase(a);
    auto pr = std::make_unique<Prepared>();
    pr->engine = moe::prepareCase(a);
    pr->T = a.problem.T;
    pr->H = a.problem.H;
    pr->k = a.problem.topK;
    *out = reinterpret_cast<MoePrepared*>(pr.release());
  });
}

MoeStatus run(MoePrepared* handle, const MoeRunArgs* args, MoeRunResult* result) {
  return call("run", [&] {
    if (!handle) badArgument("run(prepared)", "a handle from prepare", "NULL");
    if (!args || args->struct_size < sizeof(MoeRunArgs)) badArgument("run(args)", "a MoeRunArgs with struct_size set", args ? std::to_string(args->struct_size) : "NULL");
    if (!result || result->struct_size < sizeof(MoeRunResult)) badArgument("run(result)", "a MoeRunResult with struct_size set", result ? std::to_string(result->struct_size) : "NULL");
    Prepared& pr = *reinterpret_cast<Prepared*>(handle);
    expectTensor("output", args->output, MOE_DTYPE_BF16, {pr.T, pr.H});
    expectTensor("expert_ids", args->expert_ids, MOE_DTYPE_I32, {pr.T, pr.k});
    expectTensor("expert_weights", args->expert_weights, MOE_DTYPE_F32, {pr.T, pr.k});
    moe::RunOptions ro;
    ro.tactic = engineTactic(args->tactic);
    ro.poison = args->poison;
    ro.fault = requestedFault();
    moe::requireValidTactic(pr.engine->problem(), ro.tactic);
    pr.engine->run(ro, pr.out);
    const size_t n = size_t(pr.T * pr.H), nk = size_t(pr.T * pr.k);
    if (pr.out.output.size() != n || pr.out.ids.size() != nk || pr.out.weights.size() != nk) {
      fail(MOE_STATUS_INTERNAL, "run: the engine returned outputs of the wrong size");
    }
    std::memcpy(args->output.data, pr.out.output.data(), n * 2);
    std::memcpy(args->expert_ids.data, pr.out.ids.data(), nk * 4);
    std::memcpy(args->expert_weights.data, pr.out.weights.data(), nk * 4);
    result->executed = args->tactic;  // the engine runs exactly the forced tactic or throws
    result->kernel_ms = pr.out.ms;
  });
}

MoeStatus inputsDigest(MoePrepared* handle, char* out, int64_t capacity) {
  return call("inputs_digest", [&] {
    if (!handle) badArgument("inputs_digest(prepared)", "a handle from prepare", "NULL");
    copyText(reinterpret_cast<Prepared*>(handle)->engine->digest(), out, capacity);
  });
}

MoeStatus release(MoePrepared* handle) {
  return call("release", [&] {
    auto* pr = reinterpret_cast<Prepared*>(handle);
    if (pr && pr->engine) pr->engine->release();
    delete pr;
  });
}

const char* lastErrorText() { return lastError().c_str(); }

}  // namespace

extern "C" MOE_KERNEL_EXPORT const MoeKernelApi* moe_kernel_api(void) {
  static const MoeKernelApi api = [] {
    MoeKernelApi a{};
    a.abi_major = MOE_KERNEL_ABI_MAJOR;
    a.abi_minor = MOE_KERNEL_ABI_MINOR;
    a.struct_size = sizeof(MoeKernelApi);
    a.describe = describe;
    a.list_tactics = listTactics;
    a.can_implement = canImplement;
    a.workspace_size = workspaceSize;
    a.prepare = prepare;
    a.run = run;
    a.inputs_digest = inputsDigest;
    a.release = release;
    a.last_error = lastErrorText;
    return a;
  }();
  return &api;
}
