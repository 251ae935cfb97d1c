// Fused causal depthwise conv1d (Mamba's short conv, kernel width W, usually 4), forward and backward, with
// optional bias, SiLU and an initial state (the W−1 inputs before the sequence, for chunked decoding).
// Math: src/kernels/causal_conv1d/README.md. The TS twin is src/kernels/causal_conv1d/fused_ts.ts.
// Rows of C channels are contiguous, and the weight is transposed to [W][C], so every inner loop is a
// contiguous, independent run over channels. Nothing is saved by the forward: the backward recomputes the
// pre-activation for SiLU's derivative.
// Shape legend: Bz batch, T time, C channels, W kernel width.
//   x, y, dy, dx [Bz,T,C]; weight, dweight [C,W]; bias, dbias [C]; h0, dh0 [Bz,W−1,C].
#include <cmath>
#include <cstring>
#include <vector>

#include "registry.h"
#include "simd16.h"

namespace {

using namespace lrnn::simd16;
constexpr int L = kLanes;

INL vf ldn(const float* p, int64_t k) {
  vf v = splat(0.f);
  std::memcpy(&v, p, sizeof(float) * k);
  return v;
}
INL void stn(float* p, vf v, int64_t k) { std::memcpy(p, &v, sizeof(float) * k); }

struct Args {
  const float *x, *weight, *bias, *h0;
  int64_t batch, T, C, W;
  bool silu;
};

// Row s of the extended input x̃ for sequence b (h0 before t = 0), or null when it is all zeros.
INL const float* Row(const Args& a, int64_t b, int64_t s) {
  if (s >= 0) return a.x + (b * a.T + s) * a.C;
  return a.h0 ? a.h0 + (b * (a.W - 1) + s + a.W - 1) * a.C : nullptr;
}

// pre[t][c] = bias[c] + Σ_j wt[j][c] · x̃[t−W+1+j][c] for one sequence.
LRNN_HOT void Preact(const Args& a, const float* wt, int64_t b, float* pre) {
  const int64_t T = a.T, C = a.C, W = a.W;
  for (int64_t t = 0; t < T; ++t) {
    float* p = pre + t * C;
    if (a.bias) std::memcpy(p, a.bias, sizeof(float) * C);
    else std::memset(p, 0, sizeof(float) * C);
    for (int64_t j = 0; j < W; ++j) {
      const float* src = Row(a, b, t - W + 1 + j);
      if (!src) continue;
      const float* w = wt + j * C;
      for (int64_t c = 0; c < C; ++c) p[c] += w[c] * src[c];
    }
  }
}

// Loops are written out (no lambdas): a lambda would be compiled once for the default ISA, not per clone.
LRNN_HOT void SiluInPlace(float* v, int64_t n) {
  int64_t i = 0;
  for (; i + L <= n; i += L) {
    const vf p = ldn(v + i, L);
    stn(v + i, p * vsigmoid(p), L);
  }
  if (i < n) {
    const vf p = ldn(v + i, n - i);
    stn(v + i, p * vsigmoid(p), n - i);
  }
}

// dpre = dy · silu'(pre) = dy · σ(p)(1 + p(1 − σ(p))), in place over pre.
INL void SiluGradChunk(float* pre, const float* dy, int64_t k) {
  const vf p = ldn(pre, k);
  const vf s = vsigmoid(p);
  stn(pre, ldn(dy, k) * s * (1.0f + p * (1.0f - s)), k);
}

LRNN_HOT void SiluGradInPlace(float* pre, const float* dy, int64_t n) {
  int64_t i = 0;
  for (; i + L <= n; i += L) SiluGradChunk(pre + i, dy + i, L);
  if (i < n) SiluGradChunk(pre + i, dy + i, n - i);
}

// dw[j][c] += Σ_t dpre[t][c] x̃[t−W+1+j][c]; db[c] += Σ_t dpre[t][c]; dx̃[s][c] = Σ_j w[j][c] dpre[s+W−1−j][c].
LRNN_HOT void BackwardRows(const Args& a, const float* wt, int64_t b, const float* dpre, float* dwt, float* db,
                           float* dx, float* dh0) {
  const int64_t T = a.T, C = a.C, W = a.W;
  for (int64_t t = 0; t < T; ++t) {
    const float* g = dpre + t * C;
    for (int64_t c = 0; c < C; ++c) db[c] += g[c];
    for (int64_t j = 0; j < W; ++j) {
      const float* src = Row(a, b, t - W + 1 + j);
      if (!src) continue;
      float* dw = dwt + j * C;
      for (int64_t c = 0; c < C; ++c) dw[c] += g[c] * src[c];
    }
  }
  for (int64_t s = -(W - 1); s < T; ++s) {
    float* out = s >= 0 ? (dx ? dx + (b * T + s) * C : nullptr) : (dh0 ? dh0 + (b * (W - 1) + s + W - 1) * C : nullptr);
    if (!out) continue;
    std::memset(out, 0, sizeof(float) * C);
    for (int64_t j = 0; j < W; ++j) {
      const int64_t t = s + W - 1 - j;
      if (t < 0 || t >= T) continue;
      const float* w = wt + j * C;
      const float* g = dpre + t * C;
      for (int64_t c = 0; c < C; ++c) out[c] += w[c] * g[c];
    }
  }
}

Args ReadArgs(const Napi::CallbackInfo& info, size_t dimAt) {
  Args a{};
  a.batch = lrnn::Int(info, dimAt, "batch");
  a.T = lrnn::Int(info, dimAt + 1, "T");
  a.C = lrnn::Int(info, dimAt + 2, "C");
  a.W = lrnn::Int(info, dimAt + 3, "W");
  a.silu = lrnn::Bool(info, dimAt + 4);
  if (a.batch < 0 || a.T < 0 || a.C < 0 || a.W < 1) throw Napi::RangeError::New(info.Env(), "causalConv1d: bad dimensions");
  a.x = lrnn::F32(info, 0, "x", a.batch * a.T * a.C);
  a.weight = lrnn::F32(info, 1, "weight", a.C * a.W);
  a.bias = lrnn::OptF32(info, 2, "bias", a.C);
  a.h0 = lrnn::OptF32(info, 3, "initialState", a.batch * (a.W - 1) * a.C);
  return a;
}

std::vector<float> Transposed(const Args& a) {
  std::vector<float> wt(a.W * a.C);
  for (int64_t c = 0; c < a.C; ++c)
    for (int64_t j = 0; j < a.W; ++j) wt[j * a.C + c] = a.weight[c * a.W + j];
  return wt;
}

// causalConv1dFwd(x, weight, bias?, initialState?, y, batch, T, C, W, silu)
Napi::Value Forward(const Napi::CallbackInfo& info) {
  const Args a = ReadArgs(info, 5);
  float* y = lrnn::F32(info, 4, "y", a.batch * a.T * a.C);
  const std::vector<float> wt = Transposed(a);
  for (int64_t b = 0; b < a.batch; ++b) {
    float* yb = y + b * a.T * a.C;
    Preact(a, wt.data(), b, yb);
    if (a.silu) SiluInPlace(yb, a.T * a.C);
  }
  return info.Env().Undefined();
}

// causalConv1dBwd(x, weight, bias?, initialState?, dy, dx, dweight, dbias?, dInitialState?, batch, T, C, W, silu).
// Every output is overwritten.
Napi::Value Backward(const Napi::CallbackInfo& info) {
  const Args a = ReadArgs(info, 9);
  const int64_t TC = a.T * a.C;
  const float* dy = lrnn::F32(info, 4, "dy", a.batch * TC);
  float* dx = lrnn::F32(info, 5, "dx", a.batch * TC);
  float* dweight = lrnn::F32(info, 6, "dweight", a.C * a.W);
  float* dbias = lrnn::OptOut(info, 7, "dbias", a.C);
  float* dh0 = lrnn::OptOut(info, 8, "dInitialState", a.batch * (a.W - 1) * a.C);
  const std::vector<float> wt = Transposed(a);
  std::vector<float> dpre(TC), dwt(a.W * a.C), db(a.C);
  std::vector<double> dwAcc(a.W * a.C, 0.0), dbAcc(a.C, 0.0);
  for (int64_t b = 0; b < a.batch; ++b) {
    if (a.silu) {
      Preact(a, wt.data(), b, dpre.data());
      SiluGradInPlace(dpre.data(), dy + b * TC, TC);
    } else {
      std::memcpy(dpre.data(), dy + b * TC, sizeof(float) * TC);
    }
    std::fill(dwt.begin(), dwt.end(), 0.f);
    std::fill(db.begin(), db.end(), 0.f);
    BackwardRows(a, wt.data(), b, dpre.data(), dwt.data(), db.data(), dx, dh0);
    // Per-sequence float partials, summed across sequences in double.
    for (size_t i = 0; i < dwt.size(); ++i) dwAcc[i] += dwt[i];
    for (int64_t c = 0; c < a.C; ++c) dbAcc[c] += db[c];
  }
  for (int64_t c = 0; c < a.C; ++c)
    for (int64_t j = 0; j < a.W; ++j) dweight[c * a.W + j] = static_cast<float>(dwAcc[j * a.C + c]);
  if (dbias)
    for (int64_t c = 0; c < a.C; ++c) dbias[c] = static_cast<float>(dbAcc[c]);
  return info.Env().Undefined();
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("causalConv1dFwd", Napi::Function::New(env, Forward));
  exports.Set("causalConv1dBwd", Napi::Function::New(env, Backward));
}

}  // namespace

LRNN_REGISTER(Init);
