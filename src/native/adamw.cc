// Fused AdamW update over Float32Arrays (one pass over p, g, m, v instead of TF.js's many temporaries).
// Same arithmetic as adamwUpdateTs in src/optim/adamw.ts (PyTorch's single-tensor AdamW); the scalar
// coefficients (decay = lr·wd, stepSize = lr/(1−β1^t), bc2Sqrt = √(1−β2^t)) come from TS.
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

// adamwStep(p, g, m, v, beta1, beta2, eps, decay, stepSize, bc2Sqrt): updates p, m, v in place.
Napi::Value AdamWStep(const Napi::CallbackInfo& info) {
  float* p = lrnn::F32(info, 0, "p");
  const size_t n = lrnn::Len(info, 0);
  const float* g = lrnn::F32(info, 1, "g", n);
  float* m = lrnn::F32(info, 2, "m", n);
  float* v = lrnn::F32(info, 3, "v", n);
  AdamWLoop(p, g, m, v, static_cast<int64_t>(n), lrnn::Num(info, 4, "beta1"), lrnn::Num(info, 5, "beta2"),
            lrnn::Num(info, 6, "eps"), lrnn::Num(info, 7, "decay"), lrnn::Num(info, 8, "stepSize"),
            lrnn::Num(info, 9, "bc2Sqrt"));
  return info.Env().Undefined();
}

void Init(Napi::Env env, Napi::Object exports) { exports.Set("adamwStep", Napi::Function::New(env, AdamWStep)); }

}  // namespace

LRNN_REGISTER(Init);
