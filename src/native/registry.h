// Registration of the addon's exports. Each .cc file in src/native defines an init function and registers
// it with LRNN_REGISTER(fn); addon.cc calls them all at load. This keeps kernels independent of each other
// and of binding.gyp (which compiles every .cc in this folder).
#pragma once
#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "napi_args.h"

namespace lrnn {

using InitFn = void (*)(Napi::Env, Napi::Object);

std::vector<InitFn>& Registry();

struct Registrar {
  explicit Registrar(InitFn fn) { Registry().push_back(fn); }
};

}  // namespace lrnn

#define LRNN_CONCAT2(a, b) a##b
#define LRNN_CONCAT(a, b) LRNN_CONCAT2(a, b)
#define LRNN_REGISTER(fn) static ::lrnn::Registrar LRNN_CONCAT(lrnn_registrar_, __LINE__)(fn)

// Hot loops compiled for several ISAs and picked at load time by the CPU (GCC function multiversioning).
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define LRNN_HOT __attribute__((target_clones("avx512f", "avx2,fma", "default")))
#else
#define LRNN_HOT
#endif
