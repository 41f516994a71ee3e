// C++ error types of the native MoE. The binding turns each into a JS error with a
// `code` property that native/index.ts maps to BadArgumentError, UnsupportedProblemError,
// CudaError or NativeUnavailableError. Every message names the argument (or CUDA call),
// what was expected and what was found.
#pragma once
#include <stdexcept>
#include <string>

namespace moe {

// A caller passed a value that violates the contract (length, shape, range, enum).
struct BadArgument : std::runtime_error {
  std::string argument, expected, actual;
  BadArgument(std::string arg, std::string exp, std::string act)
      : std::runtime_error(arg + ": expected " + exp + ", got " + act),
        argument(std::move(arg)), expected(std::move(exp)), actual(std::move(act)) {}
};

// A well-formed problem outside what this implementation supports.
struct Unsupported : std::runtime_error {
  std::string argument, expected, actual;
  Unsupported(std::string arg, std::string exp, std::string act)
      : std::runtime_error("unsupported " + arg + ": expected " + exp + ", got " + act),
        argument(std::move(arg)), expected(std::move(exp)), actual(std::move(act)) {}
};

// A CUDA runtime call or kernel launch failed. cudaName is the error's enum name
// (e.g. cudaErrorIllegalAddress), tactic the forced tactic ("" outside runMoe).
struct CudaFailure : std::runtime_error {
  std::string cudaName, call, tactic;
  CudaFailure(std::string name, std::string what, std::string call_, std::string tactic_)
      : std::runtime_error(name + " in " + call_ + (tactic_.empty() ? "" : " (tactic " + tactic_ + ")") + ": " + what),
        cudaName(std::move(name)), call(std::move(call_)), tactic(std::move(tactic_)) {}
};

// The addon was built without CUDA (no nvcc at build time).
struct Unavailable : std::runtime_error {
  explicit Unavailable(const std::string& why) : std::runtime_error(why) {}
};

}  // namespace moe
