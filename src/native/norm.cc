// Fused RMSNorm / L2 norm over the last axis (src/kernels/norm: the same map as its TS loops, README.md
// there): one pass forward, one backward, sums of squares and dot products in float64 lanes.
// R rows (every leading axis), D the normalised axis, s = 1/D (RMSNorm) or 1 (L2 norm), w absent for L2.
#include <cmath>

#include "registry.h"
#include "simd16.h"

namespace {

using lrnn::simd16::kLanes;
using lrnn::simd16::splat;
using lrnn::simd16::vf;
typedef double vd __attribute__((vector_size(kLanes * sizeof(double))));

inline vf Load(const float* p) {
  vf v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void Store(float* p, vf v) { std::memcpy(p, &v, sizeof v); }
inline double Sum(vd v) {
  double s = 0;
  for (int i = 0; i < kLanes; ++i) s += v[i];
  return s;
}

// y = u·r·w, r = 1/sqrt(s·Σu² + eps) per row (kept for the backward).
LRNN_HOT void NormFwd(const float* u, const float* w, double eps, double s, int64_t R, int64_t D, float* y, float* r) {
  const int64_t vecEnd = D - D % kLanes;
  for (int64_t i = 0; i < R; ++i) {
    const float* ui = u + i * D;
    float* yi = y + i * D;
    vd acc = vd{} + 0.0;
    for (int64_t j = 0; j < vecEnd; j += kLanes) {
      const vd d = __builtin_convertvector(Load(ui + j), vd);
      acc += d * d;
    }
    double ss = Sum(acc);
    for (int64_t j = vecEnd; j < D; ++j) ss += static_cast<double>(ui[j]) * ui[j];
    const float ri = static_cast<float>(1.0 / std::sqrt(s * ss + eps));
    r[i] = ri;
    if (w) {
      for (int64_t j = 0; j < vecEnd; j += kLanes) Store(yi + j, (Load(ui + j) * ri) * Load(w + j));
      for (int64_t j = vecEnd; j < D; ++j) yi[j] = (ui[j] * ri) * w[j];
    } else {
      for (int64_t j = 0; j < vecEnd; j += kLanes) Store(yi + j, Load(ui + j) * ri);
      for (int64_t j = vecEnd; j < D; ++j) yi[j] = ui[j] * ri;
    }
  }
}

// du = r·a − u·r³·s·Σ(a·u) with a = dy·w; dw[j] += Σ_rows dy·u·r (float64, dw may be null).
LRNN_HOT void NormBwd(const float* u, const float* w, const float* r, const float* dy, double s, int64_t R, int64_t D,
                      float* du, double* dw) {
  const int64_t vecEnd = D - D % kLanes;
  for (int64_t i = 0; i < R; ++i) {
    const float* ui = u + i * D;
    const float* gi = dy + i * D;
    float* di = du + i * D;
    const float ri = r[i];
    vd acc = vd{} + 0.0;
    for (int64_t j = 0; j < vecEnd; j += kLanes) {
      const vf a = w ? Load(gi + j) * Load(w + j) : Load(gi + j);
      acc += __builtin_convertvector(a, vd) * __builtin_convertvector(Load(ui + j), vd);
    }
    double dot = Sum(acc);
    for (int64_t j = vecEnd; j < D; ++j) dot += static_cast<double>(w ? gi[j] * w[j] : gi[j]) * ui[j];
    const float c = static_cast<float>(static_cast<double>(ri) * ri * ri * s * dot);
    for (int64_t j = 0; j < vecEnd; j += kLanes) {
      const vf a = w ? Load(gi + j) * Load(w + j) : Load(gi + j);
      Store(di + j, ri * a - Load(ui + j) * c);
    }
    for (int64_t j = vecEnd; j < D; ++j) di[j] = ri * (w ? gi[j] * w[j] : gi[j]) - ui[j] * c;
    if (!dw) continue;
    for (int64_t j = 0; j < vecEnd; j += kLanes) {
      vd cur;
      std::memcpy(&cur, dw + j, sizeof cur);
      cur += __builtin_convertvector(Load(gi + j) * Load(ui + j) * ri, vd);
      std::memcpy(dw + j, &cur, sizeof cur);
    }
    for (int64_t j = vecEnd; j < D; ++j) dw[j] += static_cast<double>(gi[j] * ui[j] * ri);
  }
}

// normFwd(u, w | null, eps, s, D, y, r): R = r.length rows.
Napi::Value NormFwdN(const Napi::CallbackInfo& info) {
  const int64_t D = lrnn::Int(info, 4, "D");
  if (D < 1) throw Napi::RangeError::New(info.Env(), "normFwd: D must be at least 1");
  const size_t R = lrnn::Len(info, 6);
  const float* u = lrnn::F32(info, 0, "u", R * D);
  const float* w = lrnn::OptF32(info, 1, "w", static_cast<size_t>(D));
  float* y = lrnn::F32(info, 5, "y", R * D);
  float* r = lrnn::F32(info, 6, "r", R);
  NormFwd(u, w, lrnn::Num(info, 2, "eps"), lrnn::Num(info, 3, "s"), static_cast<int64_t>(R), D, y, r);
  return info.Env().Undefined();
}

// normBwd(u, w | null, r, dy, s, D, du, dw Float64Array | null): dw is added to.
Napi::Value NormBwdN(const Napi::CallbackInfo& info) {
  const int64_t D = lrnn::Int(info, 5, "D");
  if (D < 1) throw Napi::RangeError::New(info.Env(), "normBwd: D must be at least 1");
  const size_t R = lrnn::Len(info, 2);
  const float* u = lrnn::F32(info, 0, "u", R * D);
  const float* w = lrnn::OptF32(info, 1, "w", static_cast<size_t>(D));
  const float* r = lrnn::F32(info, 2, "r", R);
  const float* dy = lrnn::F32(info, 3, "dy", R * D);
  float* du = lrnn::F32(info, 6, "du", R * D);
  double* dw = nullptr;
  if (!lrnn::IsNone(info, 7)) {
    if (!info[7].IsTypedArray() || info[7].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
        info[7].As<Napi::TypedArray>().ElementLength() < static_cast<size_t>(D)) {
      throw Napi::TypeError::New(info.Env(), "argument 'dw' must be a Float64Array of length D");
    }
    dw = info[7].As<Napi::Float64Array>().Data();
  }
  NormBwd(u, w, r, dy, lrnn::Num(info, 4, "s"), static_cast<int64_t>(R), D, du, dw);
  return info.Env().Undefined();
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("normFwd", Napi::Function::New(env, NormFwdN));
  exports.Set("normBwd", Napi::Function::New(env, NormBwdN));
}

}  // namespace

LRNN_REGISTER(Init);
