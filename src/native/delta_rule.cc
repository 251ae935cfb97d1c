// Fused delta rule (DeltaNet) forward and hand-written backward, one (batch, head) at a time on one thread.
// Math: src/kernels/delta_rule/README.md §2 (rank-1 forward) and §3 (backward recursion). Saves only u_t and
// δ_t per token-head (plus exact state checkpoints every C steps); the backward rebuilds S_{t-1} = S_t − k δᵀ.
//
// B batch, T time, H heads, K key dim, V value dim. q,k [B,T,H,K]; v,o,u,delta [B,T,H,V]; beta [B,T,H];
// s0, sT, ds0, dsT [B,H,K,V]; ckpt [B,H,nCkpt,K,V], checkpoint m (1-based) = S after step m·C.
//
// Layouts: the forward keeps S as [K][Vp] rows so all three per-step products (u = Sᵀk, S += kδᵀ, o = Sᵀq)
// are row AXPYs with no horizontal sums; the backward keeps Sᵀ and Gᵀ as [V][Kp] rows so that of its seven
// products only dδ = Gᵀk needs a horizontal sum (one per value row). Rows are padded to 16 floats with zeros
// (Kp, Vp), and the row loops run on 16-lane GCC vectors, which each LRNN_HOT clone maps to its ISA.
#include <cstdlib>
#include <cstring>
#include <memory>

#include "registry.h"

// The 16-lane vector helpers are always inlined into the LRNN_HOT clones; the ABI note does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace {

typedef float v16 __attribute__((vector_size(64)));
constexpr int L = 16;
constexpr int kMaxBlocks = 32;  // K, V ≤ 512

inline v16 splat(float x) { return v16{} + x; }
inline v16 load(const float* p) {
  v16 r;
  std::memcpy(&r, p, sizeof r);
  return r;
}
inline void store(float* p, v16 x) { std::memcpy(p, &x, sizeof x); }

inline float hsum(v16 x) {
#if defined(__GNUC__) && !defined(__clang__)
  typedef int i16 __attribute__((vector_size(64)));
  x += __builtin_shuffle(x, i16{8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7});
  x += __builtin_shuffle(x, i16{4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11});
  x += __builtin_shuffle(x, i16{2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13});
  x += __builtin_shuffle(x, i16{1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14});
  return x[0];
#else
  float s = 0;
  for (int l = 0; l < L; ++l) s += x[l];
  return s;
#endif
}

inline int pad16(int n) { return (n + L - 1) / L * L; }

struct AlignedFree {
  void operator()(float* p) const { std::free(p); }
};
using Buf = std::unique_ptr<float[], AlignedFree>;
inline Buf zeros(size_t n) {
  const size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
  float* p = static_cast<float*>(std::aligned_alloc(64, bytes ? bytes : 64));
  std::memset(p, 0, bytes);
  return Buf(p);
}

struct Dims {
  int B, T, H, K, V;
  float scale;
  int ckptEvery, nCk;
};

// Copies n floats from src (stride 1) into a zero-padded row.
inline void loadRow(float* dst, const float* src, int n, int np) {
  std::memcpy(dst, src, sizeof(float) * n);
  for (int i = n; i < np; ++i) dst[i] = 0;
}

// ---- forward ------------------------------------------------------------------------------------------------
// NB = Vp/16 when known at compile time (register-resident accumulators), 0 = runtime.
template <int NB>
__attribute__((always_inline)) inline void forwardHead(const Dims& d, int b, int h, const float* q, const float* k,
                                                       const float* v, const float* beta, const float* s0, float* o,
                                                       float* sT, float* uOut, float* dOut, float* ckpt, float* S) {
  const int K = d.K, V = d.V, Vp = pad16(V), nb = NB ? NB : Vp / L;
  const size_t KV = static_cast<size_t>(K) * V;
  const size_t sOff = (static_cast<size_t>(b) * d.H + h) * KV;
  for (int i = 0; i < K; ++i) {
    if (s0) loadRow(S + static_cast<size_t>(i) * Vp, s0 + sOff + static_cast<size_t>(i) * V, V, Vp);
    else std::memset(S + static_cast<size_t>(i) * Vp, 0, sizeof(float) * Vp);
  }
  alignas(64) float tmp[kMaxBlocks * L];
  v16 u[NB ? NB : kMaxBlocks];
  // u_1 = S_0ᵀ k_1
  for (int c = 0; c < nb; ++c) u[c] = v16{};
  if (d.T > 0) {
    const float* k0 = k + (static_cast<size_t>(b) * d.T * d.H + h) * K;
    for (int i = 0; i < K; ++i) {
      const v16 ki = splat(k0[i]);
      const float* Si = S + static_cast<size_t>(i) * Vp;
      for (int c = 0; c < nb; ++c) u[c] += ki * load(Si + c * L);
    }
  }
  for (int t = 0; t < d.T; ++t) {
    const size_t row = (static_cast<size_t>(b) * d.T + t) * d.H + h;
    const float* qt = q + row * K;
    const float* kt = k + row * K;
    const float* kn = t + 1 < d.T ? kt + static_cast<size_t>(d.H) * K : nullptr;
    // δ_t = β (v_t − u_t)
    loadRow(tmp, v + row * V, V, Vp);
    const v16 bt = splat(beta[row]);
    v16 dl[NB ? NB : kMaxBlocks], oacc[NB ? NB : kMaxBlocks], un[NB ? NB : kMaxBlocks];
    for (int c = 0; c < nb; ++c) {
      dl[c] = bt * (load(tmp + c * L) - u[c]);
      oacc[c] = v16{};
      un[c] = v16{};
    }
    // Save u_t, δ_t (V floats each, unpadded) unless nothing will run the backward.
    if (uOut) {
      for (int c = 0; c < nb; ++c) store(tmp + c * L, u[c]);
      std::memcpy(uOut + row * V, tmp, sizeof(float) * V);
      for (int c = 0; c < nb; ++c) store(tmp + c * L, dl[c]);
      std::memcpy(dOut + row * V, tmp, sizeof(float) * V);
    }
    // One pass over S: S_t = S_{t-1} + k_t δ_tᵀ ; o_t += q_t[i] S_t[i] ; u_{t+1} += k_{t+1}[i] S_t[i]
    if (kn) {
      for (int i = 0; i < K; ++i) {
        const v16 ki = splat(kt[i]), qi = splat(qt[i]), kni = splat(kn[i]);
        float* Si = S + static_cast<size_t>(i) * Vp;
        for (int c = 0; c < nb; ++c) {
          const v16 s = load(Si + c * L) + ki * dl[c];
          store(Si + c * L, s);
          oacc[c] += qi * s;
          un[c] += kni * s;
        }
      }
    } else {
      for (int i = 0; i < K; ++i) {
        const v16 ki = splat(kt[i]), qi = splat(qt[i]);
        float* Si = S + static_cast<size_t>(i) * Vp;
        for (int c = 0; c < nb; ++c) {
          const v16 s = load(Si + c * L) + ki * dl[c];
          store(Si + c * L, s);
          oacc[c] += qi * s;
        }
      }
    }
    const v16 sc = splat(d.scale);
    for (int c = 0; c < nb; ++c) {
      store(tmp + c * L, sc * oacc[c]);
      u[c] = un[c];
    }
    std::memcpy(o + row * V, tmp, sizeof(float) * V);
    if (ckpt && d.ckptEvery > 0 && (t + 1) % d.ckptEvery == 0 && (t + 1) / d.ckptEvery <= d.nCk) {
      float* dst = ckpt + ((static_cast<size_t>(b) * d.H + h) * d.nCk + (t + 1) / d.ckptEvery - 1) * KV;
      for (int i = 0; i < K; ++i) std::memcpy(dst + static_cast<size_t>(i) * V, S + static_cast<size_t>(i) * Vp, sizeof(float) * V);
    }
  }
  for (int i = 0; i < K; ++i) std::memcpy(sT + sOff + static_cast<size_t>(i) * V, S + static_cast<size_t>(i) * Vp, sizeof(float) * V);
}

// ---- backward -----------------------------------------------------------------------------------------------
// St, Gt: [V][Kp] (transposed state and its gradient). NB = Kp/16 when known at compile time.
inline void loadTransposed(float* dstT, const float* src, int K, int V, int Kp) {
  for (int j = 0; j < V; ++j) {
    float* r = dstT + static_cast<size_t>(j) * Kp;
    for (int i = 0; i < K; ++i) r[i] = src[static_cast<size_t>(i) * V + j];
    for (int i = K; i < Kp; ++i) r[i] = 0;
  }
}

template <int NB>
__attribute__((always_inline)) inline void backwardHead(const Dims& d, int b, int h, const float* q, const float* k,
                                                        const float* v, const float* beta, const float* s0,
                                                        const float* sT, const float* uIn, const float* dIn,
                                                        const float* ckpt, const float* dO, const float* dsT, float* dq,
                                                        float* dk, float* dv, float* dbeta, float* ds0, float* St,
                                                        float* Gt) {
  const int K = d.K, V = d.V, Kp = pad16(K), nb = NB ? NB : Kp / L;
  const size_t KV = static_cast<size_t>(K) * V;
  const size_t sOff = (static_cast<size_t>(b) * d.H + h) * KV;
  loadTransposed(St, sT + sOff, K, V, Kp);
  if (dsT) loadTransposed(Gt, dsT + sOff, K, V, Kp);
  else std::memset(Gt, 0, sizeof(float) * V * Kp);
  alignas(64) float kbuf[kMaxBlocks * L], qbuf[kMaxBlocks * L], tmp[kMaxBlocks * L];
  alignas(64) float duNext[kMaxBlocks * L], dDelta[kMaxBlocks * L];
  v16 kNext[NB ? NB : kMaxBlocks], dkAcc[NB ? NB : kMaxBlocks];  // k_{t+1}, and dk_{t+1} so far
  for (int c = 0; c < nb; ++c) kNext[c] = dkAcc[c] = v16{};
  for (int j = 0; j < V; ++j) duNext[j] = 0;
  size_t rowNext = 0;
  for (int t = d.T - 1; t >= 0; --t) {
    const size_t row = (static_cast<size_t>(b) * d.T + t) * d.H + h;
    const int m = d.ckptEvery > 0 && (t + 1) % d.ckptEvery == 0 ? (t + 1) / d.ckptEvery : 0;
    if (m >= 1 && m <= d.nCk) {
      loadTransposed(St, ckpt + ((static_cast<size_t>(b) * d.H + h) * d.nCk + m - 1) * KV, K, V, Kp);
    }
    loadRow(kbuf, k + row * K, K, Kp);
    loadRow(qbuf, q + row * K, K, Kp);
    const float* dOt = dO ? dO + row * V : nullptr;
    const float* dlt = dIn + row * V;
    v16 kt[NB ? NB : kMaxBlocks], sqt[NB ? NB : kMaxBlocks], dkN[NB ? NB : kMaxBlocks], dqA[NB ? NB : kMaxBlocks],
        dkA[NB ? NB : kMaxBlocks];
    const v16 sc = splat(d.scale);
    for (int c = 0; c < nb; ++c) {
      kt[c] = load(kbuf + c * L);
      sqt[c] = sc * load(qbuf + c * L);
      dkN[c] = dqA[c] = dkA[c] = v16{};
    }
    // One pass over value rows j (Sᵀ_j = column j of S_t):
    //   Gᵀ_j += du_{t+1}[j] k_{t+1} + scale do_t[j] q_t     (G becomes ∂L/∂S_t, then gets the o_t term)
    //   dk_{t+1} += du_{t+1}[j] Sᵀ_j ; dq_t += do_t[j] Sᵀ_j ; dδ_t[j] = Gᵀ_j · k_t ; dk_t += δ_t[j] Gᵀ_j
    //   Sᵀ_j −= δ_t[j] k_t                                   (rebuilds S_{t-1})
    for (int j = 0; j < V; ++j) {
      float* Sj = St + static_cast<size_t>(j) * Kp;
      float* Gj = Gt + static_cast<size_t>(j) * Kp;
      const v16 dun = splat(duNext[j]), doj = splat(dOt ? dOt[j] : 0.0f), dlj = splat(dlt[j]);
      v16 dot = v16{};
      for (int c = 0; c < nb; ++c) {
        const v16 s = load(Sj + c * L);
        const v16 g = load(Gj + c * L) + dun * kNext[c] + doj * sqt[c];
        store(Gj + c * L, g);
        dkN[c] += dun * s;
        dqA[c] += doj * s;
        dot += g * kt[c];
        dkA[c] += dlj * g;
        store(Sj + c * L, s - dlj * kt[c]);
      }
      dDelta[j] = hsum(dot);
    }
    if (t + 1 < d.T) {
      for (int c = 0; c < nb; ++c) store(tmp + c * L, dkAcc[c] + dkN[c]);
      std::memcpy(dk + rowNext * K, tmp, sizeof(float) * K);
    }
    for (int c = 0; c < nb; ++c) {
      store(tmp + c * L, sc * dqA[c]);
      dkAcc[c] = dkA[c];
      kNext[c] = kt[c];
    }
    std::memcpy(dq + row * K, tmp, sizeof(float) * K);
    // dβ = dδ·(v − u) ; dv = β dδ ; du = −β dδ
    const float bt = beta[row];
    const float* vt = v + row * V;
    const float* ut = uIn + row * V;
    float db = 0;
    for (int j = 0; j < V; ++j) {
      db += dDelta[j] * (vt[j] - ut[j]);
      dv[row * V + j] = bt * dDelta[j];
      duNext[j] = -bt * dDelta[j];
    }
    dbeta[row] = db;
    rowNext = row;
  }
  if (d.T > 0) {
    // Last half-step with the exact S_0: dk_1 += S_0 du_1 ; G += k_1 du_1ᵀ.
    if (s0) loadTransposed(St, s0 + sOff, K, V, Kp);
    else std::memset(St, 0, sizeof(float) * V * Kp);
    v16 dkN[NB ? NB : kMaxBlocks];
    for (int c = 0; c < nb; ++c) dkN[c] = v16{};
    for (int j = 0; j < V; ++j) {
      const float* Sj = St + static_cast<size_t>(j) * Kp;
      float* Gj = Gt + static_cast<size_t>(j) * Kp;
      const v16 dun = splat(duNext[j]);
      for (int c = 0; c < nb; ++c) {
        dkN[c] += dun * load(Sj + c * L);
        store(Gj + c * L, load(Gj + c * L) + dun * kNext[c]);
      }
    }
    for (int c = 0; c < nb; ++c) store(tmp + c * L, dkAcc[c] + dkN[c]);
    std::memcpy(dk + rowNext * K, tmp, sizeof(float) * K);
  }
  for (int i = 0; i < K; ++i)
    for (int j = 0; j < V; ++j) ds0[sOff + static_cast<size_t>(i) * V + j] = Gt[static_cast<size_t>(j) * Kp + i];
}

#define LRNN_DR_DISPATCH(fn, nbVal, ...)           \
  switch (nbVal) {                                 \
    case 1: fn<1>(__VA_ARGS__); break;             \
    case 2: fn<2>(__VA_ARGS__); break;             \
    case 3: fn<3>(__VA_ARGS__); break;             \
    case 4: fn<4>(__VA_ARGS__); break;             \
    case 5: fn<5>(__VA_ARGS__); break;             \
    case 6: fn<6>(__VA_ARGS__); break;             \
    case 8: fn<8>(__VA_ARGS__); break;             \
    default: fn<0>(__VA_ARGS__); break;            \
  }

LRNN_HOT void forwardAll(const Dims& d, const float* q, const float* k, const float* v, const float* beta,
                         const float* s0, float* o, float* sT, float* u, float* dl, float* ckpt) {
  Buf S = zeros(static_cast<size_t>(d.K) * pad16(d.V));
  const int nb = pad16(d.V) / L;
  for (int b = 0; b < d.B; ++b)
    for (int h = 0; h < d.H; ++h) {
      LRNN_DR_DISPATCH(forwardHead, nb, d, b, h, q, k, v, beta, s0, o, sT, u, dl, ckpt, S.get())
    }
}

LRNN_HOT void backwardAll(const Dims& d, const float* q, const float* k, const float* v, const float* beta,
                          const float* s0, const float* sT, const float* u, const float* dl, const float* ckpt,
                          const float* dO, const float* dsT, float* dq, float* dk, float* dv, float* dbeta,
                          float* ds0) {
  Buf St = zeros(static_cast<size_t>(d.V) * pad16(d.K)), Gt = zeros(static_cast<size_t>(d.V) * pad16(d.K));
  const int nb = pad16(d.K) / L;
  for (int b = 0; b < d.B; ++b)
    for (int h = 0; h < d.H; ++h) {
      LRNN_DR_DISPATCH(backwardHead, nb, d, b, h, q, k, v, beta, s0, sT, u, dl, ckpt, dO, dsT, dq, dk, dv, dbeta, ds0,
                       St.get(), Gt.get())
    }
}

Dims readDims(const Napi::CallbackInfo& info, size_t at) {
  Dims d;
  d.B = static_cast<int>(lrnn::Int(info, at, "B"));
  d.T = static_cast<int>(lrnn::Int(info, at + 1, "T"));
  d.H = static_cast<int>(lrnn::Int(info, at + 2, "H"));
  d.K = static_cast<int>(lrnn::Int(info, at + 3, "K"));
  d.V = static_cast<int>(lrnn::Int(info, at + 4, "V"));
  d.scale = static_cast<float>(lrnn::Num(info, at + 5, "scale"));
  d.ckptEvery = static_cast<int>(lrnn::Int(info, at + 6, "ckptEvery"));
  if (d.B < 0 || d.T < 0 || d.H < 0 || d.K <= 0 || d.V <= 0 || d.ckptEvery < 0) {
    throw Napi::RangeError::New(info.Env(), "deltaRule: dims must be non-negative and K, V positive");
  }
  if (d.K > kMaxBlocks * L || d.V > kMaxBlocks * L) {
    throw Napi::RangeError::New(info.Env(), "deltaRule: K and V must be at most 512 in the native kernel");
  }
  d.nCk = d.ckptEvery > 0 && d.T > 0 ? (d.T - 1) / d.ckptEvery : 0;
  return d;
}

// deltaRuleForward(q, k, v, beta, s0|null, o, sT, u|null, delta|null, ckpt|null, B, T, H, K, V, scale, ckptEvery)
Napi::Value Forward(const Napi::CallbackInfo& info) {
  const Dims d = readDims(info, 10);
  const size_t BTH = static_cast<size_t>(d.B) * d.T * d.H, BHKV = static_cast<size_t>(d.B) * d.H * d.K * d.V;
  const float* q = lrnn::F32(info, 0, "q", BTH * d.K);
  const float* k = lrnn::F32(info, 1, "k", BTH * d.K);
  const float* v = lrnn::F32(info, 2, "v", BTH * d.V);
  const float* beta = lrnn::F32(info, 3, "beta", BTH);
  const float* s0 = lrnn::IsNone(info, 4) ? nullptr : lrnn::F32(info, 4, "s0", BHKV);
  float* o = lrnn::F32(info, 5, "o", BTH * d.V);
  float* sT = lrnn::F32(info, 6, "sT", BHKV);
  // u, delta, ckpt: all null for a forward without backward.
  const bool save = !lrnn::IsNone(info, 7);
  float* u = save ? lrnn::F32(info, 7, "u", BTH * d.V) : nullptr;
  float* dl = save ? lrnn::F32(info, 8, "delta", BTH * d.V) : nullptr;
  float* ckpt = save ? lrnn::F32(info, 9, "ckpt", BHKV * d.nCk) : nullptr;
  forwardAll(d, q, k, v, beta, s0, o, sT, u, dl, ckpt);
  return info.Env().Undefined();
}

// deltaRuleBackward(q, k, v, beta, s0|null, sT, u, delta, ckpt, dO|null, dsT|null, dq, dk, dv, dbeta, ds0,
//                   B, T, H, K, V, scale, ckptEvery)
Napi::Value Backward(const Napi::CallbackInfo& info) {
  const Dims d = readDims(info, 16);
  const size_t BTH = static_cast<size_t>(d.B) * d.T * d.H, BHKV = static_cast<size_t>(d.B) * d.H * d.K * d.V;
  const float* q = lrnn::F32(info, 0, "q", BTH * d.K);
  const float* k = lrnn::F32(info, 1, "k", BTH * d.K);
  const float* v = lrnn::F32(info, 2, "v", BTH * d.V);
  const float* beta = lrnn::F32(info, 3, "beta", BTH);
  const float* s0 = lrnn::IsNone(info, 4) ? nullptr : lrnn::F32(info, 4, "s0", BHKV);
  const float* sT = lrnn::F32(info, 5, "sT", BHKV);
  const float* u = lrnn::F32(info, 6, "u", BTH * d.V);
  const float* dl = lrnn::F32(info, 7, "delta", BTH * d.V);
  const float* ckpt = lrnn::F32(info, 8, "ckpt", BHKV * d.nCk);
  const float* dO = lrnn::IsNone(info, 9) ? nullptr : lrnn::F32(info, 9, "dO", BTH * d.V);
  const float* dsT = lrnn::IsNone(info, 10) ? nullptr : lrnn::F32(info, 10, "dsT", BHKV);
  float* dq = lrnn::F32(info, 11, "dq", BTH * d.K);
  float* dk = lrnn::F32(info, 12, "dk", BTH * d.K);
  float* dv = lrnn::F32(info, 13, "dv", BTH * d.V);
  float* dbeta = lrnn::F32(info, 14, "dbeta", BTH);
  float* ds0 = lrnn::F32(info, 15, "ds0", BHKV);
  backwardAll(d, q, k, v, beta, s0, sT, u, dl, ckpt, dO, dsT, dq, dk, dv, dbeta, ds0);
  return info.Env().Undefined();
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("deltaRuleForward", Napi::Function::New(env, Forward));
  exports.Set("deltaRuleBackward", Napi::Function::New(env, Backward));
}

}  // namespace

LRNN_REGISTER(Init);
