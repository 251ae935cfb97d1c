// N-API argument readers shared by every .cc in this folder: typed views over JS arrays and numbers, with the
// argument's name in the error, so a wrong call says which input was bad. Optional inputs are null,
// undefined or an empty array.
#pragma once
#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace lrnn {

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

inline bool IsNone(const Napi::CallbackInfo& info, size_t i) {
  return i >= info.Length() || info[i].IsNull() || info[i].IsUndefined();
}

// An optional Float32Array input: nullptr when absent or empty, else checked like F32.
inline const float* OptF32(const Napi::CallbackInfo& info, size_t i, const char* name, size_t len) {
  if (IsNone(info, i)) return nullptr;
  if (info[i].IsTypedArray() && info[i].As<Napi::TypedArray>().ElementLength() == 0) return nullptr;
  return F32(info, i, name, len);
}

// An optional output: the same rule, writable.
inline float* OptOut(const Napi::CallbackInfo& info, size_t i, const char* name, size_t len) {
  return const_cast<float*>(OptF32(info, i, name, len));
}

}  // namespace lrnn
