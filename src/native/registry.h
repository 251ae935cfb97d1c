// Registration of the addon's exports. Each .cc file in src/native defines an init function and registers
// it with LRNN_REGISTER(fn); addon.cc calls them all at load. This keeps kernels independent of each other
// and of binding.gyp (which compiles every .cc in this folder).
#pragma once
#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lrnn {

using InitFn = void (*)(Napi::Env, Napi::Object);

std::vector<InitFn>& Registry();

struct Registrar {
  explicit Registrar(InitFn fn) { Registry().push_back(fn); }
};

// Typed views over JS arrays, with argument names in the error so a wrong call says which input was bad.
inline float* F32(const Napi::CallbackInfo& info, size_t i, const char* name, size_t minLength = 0) {
  if (i >= info.Length() || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(info.Env(), std::string("argument '") + name + "' must be a Float32Array");
  }
  auto a = info[i].As<Napi::Float32Array>();
  if (a.ElementLength() < minLength) {
    throw Napi::RangeError::New(info.Env(), std::string("argument '") + name + "' has " +
                                                std::to_string(a.ElementLength()) + " elements, needs " +
                                                std::to_string(minLength));
  }
  return a.Data();
}

inline int32_t* I32(const Napi::CallbackInfo& info, size_t i, const char* name, size_t minLength = 0) {
  if (i >= info.Length() || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw Napi::TypeError::New(info.Env(), std::string("argument '") + name + "' must be an Int32Array");
  }
  auto a = info[i].As<Napi::Int32Array>();
  if (a.ElementLength() < minLength) {
    throw Napi::RangeError::New(info.Env(), std::string("argument '") + name + "' is too short");
  }
  return a.Data();
}

inline size_t Len(const Napi::CallbackInfo& info, size_t i) {
  return info[i].As<Napi::TypedArray>().ElementLength();
}

inline int64_t Int(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length() || !info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), std::string("argument '") + name + "' must be a number");
  }
  return info[i].As<Napi::Number>().Int64Value();
}

inline double Num(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length() || !info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), std::string("argument '") + name + "' must be a number");
  }
  return info[i].As<Napi::Number>().DoubleValue();
}

inline bool Bool(const Napi::CallbackInfo& info, size_t i) {
  return i < info.Length() && info[i].ToBoolean().Value();
}

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
