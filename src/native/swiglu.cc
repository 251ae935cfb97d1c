// Fused SwiGLU gate h = silu(g)·u and its backward (src/kernels/swiglu: the same map as its TS loops,
// README.md there), 16 lanes at a time with the shared vexp-based sigmoid.
#include <cmath>

#include "registry.h"
#include "simd16.h"

namespace {

using lrnn::simd16::kLanes;
using lrnn::simd16::vf;
using lrnn::simd16::vsigmoid;

inline vf Load(const float* p) {
  vf v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void Store(float* p, vf v) { std::memcpy(p, &v, sizeof v); }

inline float Sigmoid(float x) {
  if (x >= 0) return 1.f / (1.f + std::exp(-x));
  const float e = std::exp(x);
  return e / (1.f + e);
}

LRNN_HOT void SwigluFwd(const float* g, const float* u, float* h, int64_t n) {
  const int64_t vecEnd = n - n % kLanes;
  for (int64_t i = 0; i < vecEnd; i += kLanes) {
    const vf gi = Load(g + i);
    Store(h + i, (gi * vsigmoid(gi)) * Load(u + i));
  }
  for (int64_t i = vecEnd; i < n; ++i) h[i] = (g[i] * Sigmoid(g[i])) * u[i];
}

// du = dh·silu(g), dg = dh·u·σ(g)·(1 + g·(1 − σ(g))).
LRNN_HOT void SwigluBwd(const float* g, const float* u, const float* dh, float* dg, float* du, int64_t n) {
  const int64_t vecEnd = n - n % kLanes;
  for (int64_t i = 0; i < vecEnd; i += kLanes) {
    const vf gi = Load(g + i), sg = vsigmoid(gi), d = Load(dh + i);
    Store(du + i, d * (gi * sg));
    Store(dg + i, d * Load(u + i) * sg * (1.0f + gi * (1.0f - sg)));
  }
  for (int64_t i = vecEnd; i < n; ++i) {
    const float gi = g[i], sg = Sigmoid(gi);
    du[i] = dh[i] * (gi * sg);
    dg[i] = dh[i] * u[i] * sg * (1.f + gi * (1.f - sg));
  }
}

// swigluFwd(g, u, h)
Napi::Value SwigluFwdN(const Napi::CallbackInfo& info) {
  const size_t n = lrnn::Len(info, 2);
  SwigluFwd(lrnn::F32(info, 0, "g", n), lrnn::F32(info, 1, "u", n), lrnn::F32(info, 2, "h", n), static_cast<int64_t>(n));
  return info.Env().Undefined();
}

// swigluBwd(g, u, dh, dg, du)
Napi::Value SwigluBwdN(const Napi::CallbackInfo& info) {
  const size_t n = lrnn::Len(info, 2);
  SwigluBwd(lrnn::F32(info, 0, "g", n), lrnn::F32(info, 1, "u", n), lrnn::F32(info, 2, "dh", n), lrnn::F32(info, 3, "dg", n),
            lrnn::F32(info, 4, "du", n), static_cast<int64_t>(n));
  return info.Env().Undefined();
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("swigluFwd", Napi::Function::New(env, SwigluFwdN));
  exports.Set("swigluBwd", Napi::Function::New(env, SwigluBwdN));
}

}  // namespace

LRNN_REGISTER(Init);
