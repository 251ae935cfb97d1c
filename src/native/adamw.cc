// Fused AdamW update over Float32Arrays (one pass over p, g, m, v instead of TF.js's many temporaries).
// Same arithmetic as adamwUpdateTs in src/optim/adamw.ts (PyTorch's single-tensor AdamW); the scalar
// coefficients (decay = lr·wd, stepSize = lr/(1−β1^t), bc2Sqrt = √(1−β2^t)) come from TS.
#include <algorithm>
#include <cmath>

#include "registry.h"

namespace {

LRNN_HOT void AdamWLoop(float* p, const float* g, float* m, float* v, int64_t n, double beta1, double beta2,
                        double eps, double decay, double stepSize, double bc2Sqrt) {
  const double keep = 1.0 - decay, w1 = 1.0 - beta1, w2 = 1.0 - beta2;
  for (int64_t i = 0; i < n; ++i) {
    const double gi = g[i];
    const double mi = m[i] + w1 * (gi - m[i]);
    const double vi = beta2 * v[i] + w2 * gi * gi;
    m[i] = static_cast<float>(mi);
    v[i] = static_cast<float>(vi);
    p[i] = static_cast<float>(p[i] * keep - stepSize * (mi / (std::sqrt(vi) / bc2Sqrt + eps)));
  }
}

// The same update, also returning Σ (p_new − p_old)² and Σ p_old² (the update-ratio telemetry) without a copy
// of p: blocks of p_old on the stack keep the update loop vectorised, and the sums run in float64 in index
// order, term for term as the TS loop (and diffSquares in src/train/stability.ts) adds them, so the
// telemetry is bitwise the same on either path. (-std=c++17 keeps GCC from contracting d*d + s into an FMA.)
void AdamWLoopSums(float* p, const float* g, float* m, float* v, int64_t n, double beta1, double beta2,
                   double eps, double decay, double stepSize, double bc2Sqrt, double* sums) {
  constexpr int64_t kBlock = 1024;
  float old[kBlock];
  double diff = 0, base = 0;
  for (int64_t i0 = 0; i0 < n; i0 += kBlock) {
    const int64_t len = std::min(kBlock, n - i0);
    std::copy(p + i0, p + i0 + len, old);
    AdamWLoop(p + i0, g + i0, m + i0, v + i0, len, beta1, beta2, eps, decay, stepSize, bc2Sqrt);
    for (int64_t j = 0; j < len; ++j) {
      const double b = old[j];
      const double d = static_cast<double>(p[i0 + j]) - b;
      diff += d * d;
      base += b * b;
    }
  }
  sums[0] = diff;
  sums[1] = base;
}

// adamwStep(p, g, m, v, beta1, beta2, eps, decay, stepSize, bc2Sqrt[, sums Float64Array(2)]): updates p, m, v
// in place; with `sums`, also writes [Σ Δp², Σ p_old²] for this tensor.
Napi::Value AdamWStep(const Napi::CallbackInfo& info) {
  float* p = lrnn::F32(info, 0, "p");
  const size_t n = lrnn::Len(info, 0);
  const float* g = lrnn::F32(info, 1, "g", n);
  float* m = lrnn::F32(info, 2, "m", n);
  float* v = lrnn::F32(info, 3, "v", n);
  const double beta1 = lrnn::Num(info, 4, "beta1"), beta2 = lrnn::Num(info, 5, "beta2"), eps = lrnn::Num(info, 6, "eps");
  const double decay = lrnn::Num(info, 7, "decay"), stepSize = lrnn::Num(info, 8, "stepSize"), bc2Sqrt = lrnn::Num(info, 9, "bc2Sqrt");
  if (lrnn::IsNone(info, 10)) {
    AdamWLoop(p, g, m, v, static_cast<int64_t>(n), beta1, beta2, eps, decay, stepSize, bc2Sqrt);
    return info.Env().Undefined();
  }
  if (!info[10].IsTypedArray() || info[10].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      info[10].As<Napi::TypedArray>().ElementLength() < 2) {
    throw Napi::TypeError::New(info.Env(), "argument 'sums' must be a Float64Array of length 2");
  }
  AdamWLoopSums(p, g, m, v, static_cast<int64_t>(n), beta1, beta2, eps, decay, stepSize, bc2Sqrt,
                info[10].As<Napi::Float64Array>().Data());
  return info.Env().Undefined();
}

void Init(Napi::Env env, Napi::Object exports) { exports.Set("adamwStep", Napi::Function::New(env, AdamWStep)); }

}  // namespace

LRNN_REGISTER(Init);
