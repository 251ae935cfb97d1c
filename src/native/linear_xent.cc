// Linear + softmax cross-entropy streamed over row chunks: the LM head's logits for `chunk` rows at a time
// (never N × V), their log-sum-exp and target logit, and, when the caller will need gradients, the chunk's
// dlogits = scale · (softmax − onehot) turned at once into dX (chunk rows) and dW (accumulated), so the head
// costs the three GEMMs of an unfused step and no recomputation. Math: src/kernels/cross_entropy/README.md.
// N rows, D features, V vocab.
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "registry.h"
#include "simd16.h"

namespace {

using lrnn::simd16::kLanes;
using lrnn::simd16::splat;
using lrnn::simd16::vexp;
using lrnn::simd16::vf;
typedef double vd __attribute__((vector_size(kLanes * sizeof(double))));

// One chunk of rows of logits z [rows, V], in place: returns Σ loss over the rows; per-row losses into
// rowLoss when given; with grads, z becomes scale · (softmax − onehot) (0 for ignored rows). The exp sums
// run in float64 lanes, so the loss matches the unfused kernel (softmaxXent) to float32 rounding.
LRNN_HOT double SoftmaxRows(float* z, const int32_t* y, int64_t rows, int64_t V, int32_t ignore, float scale,
                            bool grads, float* rowLoss) {
  const int64_t vecEnd = V - V % kLanes;
  double total = 0;
  for (int64_t r = 0; r < rows; ++r) {
    float* zr = z + r * V;
    const int32_t label = y[r];
    if (label == ignore) {
      if (grads) std::fill(zr, zr + V, 0.f);
      if (rowLoss) rowLoss[r] = 0.f;
      continue;
    }
    const float target = zr[label];
    vf vm = splat(-std::numeric_limits<float>::infinity());
    for (int64_t j = 0; j < vecEnd; j += kLanes) {
      vf v;
      std::memcpy(&v, zr + j, sizeof v);
      vm = v > vm ? v : vm;
    }
    float m = -std::numeric_limits<float>::infinity();
    for (int i = 0; i < kLanes; ++i) m = std::max(m, vm[i]);
    for (int64_t j = vecEnd; j < V; ++j) m = std::max(m, zr[j]);
    vd vs = vd{} + 0.0;
    for (int64_t j = 0; j < vecEnd; j += kLanes) {
      vf v;
      std::memcpy(&v, zr + j, sizeof v);
      const vf e = vexp(v - m);
      if (grads) std::memcpy(zr + j, &e, sizeof e);
      vs += __builtin_convertvector(e, vd);
    }
    double s = 0;
    for (int i = 0; i < kLanes; ++i) s += vs[i];
    for (int64_t j = vecEnd; j < V; ++j) {
      const float e = std::exp(zr[j] - m);
      if (grads) zr[j] = e;
      s += e;
    }
    const double loss = std::log(s) + m - target;
    total += loss;
    if (rowLoss) rowLoss[r] = static_cast<float>(loss);
    if (grads) {
      const float k = static_cast<float>(scale / s);
      for (int64_t j = 0; j < V; ++j) zr[j] *= k;
      zr[label] -= scale;
    }
  }
  return total;
}

// linearXent(x [N,D], w [V,D], labels Int32 [N], N, D, V, ignoreIndex, chunkRows, scale, gx [N,D] | null,
//            gw [V,D] | null, rowLoss [N] | null) → Σ_n loss_n (float64)
// loss_n = logsumexp(x_n · Wᵀ) − x_n · w_{y_n}; ignored rows 0. With gx and gw: gx = scale · dZ · W and
// gw = scale · dZᵀ · X for dZ = softmax − onehot (both overwritten).
Napi::Value LinearXent(const Napi::CallbackInfo& info) {
  const int64_t N = lrnn::Int(info, 3, "N"), D = lrnn::Int(info, 4, "D"), V = lrnn::Int(info, 5, "V");
  const int32_t ignore = static_cast<int32_t>(lrnn::Int(info, 6, "ignoreIndex"));
  const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(N, lrnn::Int(info, 7, "chunkRows")));
  const float scale = static_cast<float>(lrnn::Num(info, 8, "scale"));
  const float* x = lrnn::F32(info, 0, "x", static_cast<size_t>(N * D));
  const float* w = lrnn::F32(info, 1, "w", static_cast<size_t>(V * D));
  const int32_t* y = lrnn::I32(info, 2, "labels", static_cast<size_t>(N));
  float* gx = lrnn::OptOut(info, 9, "gx", static_cast<size_t>(N * D));
  float* gw = lrnn::OptOut(info, 10, "gw", static_cast<size_t>(V * D));
  float* rowLoss = lrnn::OptOut(info, 11, "rowLoss", static_cast<size_t>(N));
  if ((gx == nullptr) != (gw == nullptr)) throw Napi::TypeError::New(info.Env(), "linearXent: give both gx and gw or neither");
  for (int64_t r = 0; r < N; ++r) {
    if (y[r] != ignore && (y[r] < 0 || y[r] >= V)) {
      throw Napi::RangeError::New(info.Env(), "linearXent: label " + std::to_string(y[r]) + " at row " +
                                                  std::to_string(r) + " is outside [0, " + std::to_string(V) + ")");
    }
  }
  const bool grads = gx != nullptr;
  if (N == 0) {
    if (grads) std::fill(gw, gw + V * D, 0.f);
    return Napi::Number::New(info.Env(), 0.0);
  }
  // The chunk's logits, kept between calls (the same size every step) so no step pays page faults for them.
  static thread_local std::vector<float> zbuf;
  if (zbuf.size() < static_cast<size_t>(chunk * V)) zbuf.resize(static_cast<size_t>(chunk * V));
  float* z = zbuf.data();
  double total = 0;
  for (int64_t r0 = 0; r0 < N; r0 += chunk) {
    const int64_t rows = std::min(chunk, N - r0);
    const float* xc = x + r0 * D;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), static_cast<int>(V), static_cast<int>(D),
                1.0f, xc, static_cast<int>(D), w, static_cast<int>(D), 0.0f, z, static_cast<int>(V));
    total += SoftmaxRows(z, y + r0, rows, V, ignore, scale, grads, rowLoss ? rowLoss + r0 : nullptr);
    if (!grads) continue;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(rows), static_cast<int>(D), static_cast<int>(V),
                1.0f, z, static_cast<int>(V), w, static_cast<int>(D), 0.0f, gx + r0 * D, static_cast<int>(D));
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, static_cast<int>(V), static_cast<int>(D), static_cast<int>(rows),
                1.0f, z, static_cast<int>(V), xc, static_cast<int>(D), r0 == 0 ? 0.0f : 1.0f, gw, static_cast<int>(D));
  }
  return Napi::Number::New(info.Env(), total);
}

void Init(Napi::Env env, Napi::Object exports) { exports.Set("linearXent", Napi::Function::New(env, LinearXent)); }

}  // namespace

LRNN_REGISTER(Init);
