// Elementwise, reduction and loss kernels over Float32Arrays, registered over the cpu backend's TypedArray
// storage by src/backend/kernels. Opcodes are shared with src/backend/kernels/opcodes.ts; keep them in step.
#include <algorithm>
#include <cmath>
#include <limits>

#include "registry.h"

namespace {

enum Binary { kAdd = 0, kSub, kMul, kDiv, kMax, kMin, kSqDiff };
enum Unary { kRelu = 0, kExp, kLog, kSigmoid, kTanh, kNeg, kSqrt, kRsqrt, kSquare, kAbs, kStep, kSoftplus,
             kReciprocal, kLog1p };
enum Reduce { kSum = 0, kRMax, kRMin, kMean };

template <int OP>
inline float Apply(float a, float b) {
  if constexpr (OP == kAdd) return a + b;
  if constexpr (OP == kSub) return a - b;
  if constexpr (OP == kMul) return a * b;
  if constexpr (OP == kDiv) return a / b;
  if constexpr (OP == kMax) return (a > b || std::isnan(a)) ? a : b;
  if constexpr (OP == kMin) return (a < b || std::isnan(a)) ? a : b;
  if constexpr (OP == kSqDiff) { const float d = a - b; return d * d; }
  return 0.f;
}

// Innermost run: n outputs, a and b advance by sa / sb (0 = broadcast, 1 = contiguous).
template <int OP>
LRNN_HOT void Run(const float* a, const float* b, float* o, int64_t n, int64_t sa, int64_t sb) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i) o[i] = Apply<OP>(a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    const float bv = b[0];
    for (int64_t i = 0; i < n; ++i) o[i] = Apply<OP>(a[i], bv);
  } else if (sa == 0 && sb == 1) {
    const float av = a[0];
    for (int64_t i = 0; i < n; ++i) o[i] = Apply<OP>(av, b[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) o[i] = Apply<OP>(a[i * sa], b[i * sb]);
  }
}

template <int OP>
void BinaryND(const float* a, const float* b, float* o, const int32_t* shape, const double* as, const double* bs,
              int rank) {
  // Odometer over all but the last dimension; the last is one contiguous-or-broadcast run.
  const int64_t inner = shape[rank - 1];
  const int64_t sa = static_cast<int64_t>(as[rank - 1]), sb = static_cast<int64_t>(bs[rank - 1]);
  int64_t outer = 1;
  for (int d = 0; d < rank - 1; ++d) outer *= shape[d];
  int64_t idx[8] = {0};
  int64_t ao = 0, bo = 0;
  for (int64_t r = 0; r < outer; ++r) {
    Run<OP>(a + ao, b + bo, o + r * inner, inner, sa, sb);
    for (int d = rank - 2; d >= 0; --d) {
      if (++idx[d] < shape[d]) {
        ao += static_cast<int64_t>(as[d]);
        bo += static_cast<int64_t>(bs[d]);
        break;
      }
      ao -= static_cast<int64_t>(as[d]) * (shape[d] - 1);
      bo -= static_cast<int64_t>(bs[d]) * (shape[d] - 1);
      idx[d] = 0;
    }
  }
}

// binary(op, a, b, out, shape Int32Array, aStrides Float64Array, bStrides Float64Array)
Napi::Value BinaryOp(const Napi::CallbackInfo& info) {
  const int op = static_cast<int>(lrnn::Int(info, 0, "op"));
  const float* a = lrnn::F32(info, 1, "a");
  const float* b = lrnn::F32(info, 2, "b");
  float* o = lrnn::F32(info, 3, "out");
  const int32_t* shape = lrnn::I32(info, 4, "shape");
  const int rank = static_cast<int>(lrnn::Len(info, 4));
  const double* as = info[5].As<Napi::Float64Array>().Data();
  const double* bs = info[6].As<Napi::Float64Array>().Data();
  if (rank < 1 || rank > 8) throw Napi::RangeError::New(info.Env(), "binary: rank must be 1..8");
  switch (op) {
    case kAdd: BinaryND<kAdd>(a, b, o, shape, as, bs, rank); break;
    case kSub: BinaryND<kSub>(a, b, o, shape, as, bs, rank); break;
    case kMul: BinaryND<kMul>(a, b, o, shape, as, bs, rank); break;
    case kDiv: BinaryND<kDiv>(a, b, o, shape, as, bs, rank); break;
    case kMax: BinaryND<kMax>(a, b, o, shape, as, bs, rank); break;
    case kMin: BinaryND<kMin>(a, b, o, shape, as, bs, rank); break;
    case kSqDiff: BinaryND<kSqDiff>(a, b, o, shape, as, bs, rank); break;
    default: throw Napi::RangeError::New(info.Env(), "binary: unknown op");
  }
  return info.Env().Undefined();
}

template <int OP>
LRNN_HOT void UnaryRun(const float* x, float* o, int64_t n, float alpha) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    float r;
    if constexpr (OP == kRelu) r = v > 0.f ? v : (std::isnan(v) ? v : 0.f);
    else if constexpr (OP == kExp) r = std::exp(v);
    else if constexpr (OP == kLog) r = std::log(v);
    else if constexpr (OP == kSigmoid) r = 1.f / (1.f + std::exp(-v));
    else if constexpr (OP == kTanh) r = std::tanh(v);
    else if constexpr (OP == kNeg) r = -v;
    else if constexpr (OP == kSqrt) r = std::sqrt(v);
    else if constexpr (OP == kRsqrt) r = 1.f / std::sqrt(v);
    else if constexpr (OP == kSquare) r = v * v;
    else if constexpr (OP == kAbs) r = std::fabs(v);
    else if constexpr (OP == kStep) r = v > 0.f ? 1.f : (std::isnan(v) ? v : alpha);
    else if constexpr (OP == kSoftplus) r = v > 20.f ? v : (v < -20.f ? std::exp(v) : std::log1p(std::exp(v)));
    else if constexpr (OP == kReciprocal) r = 1.f / v;
    else if constexpr (OP == kLog1p) r = std::log1p(v);
    else r = 0.f;
    o[i] = r;
  }
}

// unary(op, x, out, alpha)
Napi::Value UnaryOp(const Napi::CallbackInfo& info) {
  const int op = static_cast<int>(lrnn::Int(info, 0, "op"));
  const int64_t n = static_cast<int64_t>(lrnn::Len(info, 1));
  const float* x = lrnn::F32(info, 1, "x");
  float* o = lrnn::F32(info, 2, "out", static_cast<size_t>(n));
  const float alpha = info.Length() > 3 ? static_cast<float>(lrnn::Num(info, 3, "alpha")) : 0.f;
  switch (op) {
#define CASE(K) case K: UnaryRun<K>(x, o, n, alpha); break;
    CASE(kRelu) CASE(kExp) CASE(kLog) CASE(kSigmoid) CASE(kTanh) CASE(kNeg) CASE(kSqrt) CASE(kRsqrt)
    CASE(kSquare) CASE(kAbs) CASE(kStep) CASE(kSoftplus) CASE(kReciprocal) CASE(kLog1p)
#undef CASE
    default: throw Napi::RangeError::New(info.Env(), "unary: unknown op");
  }
  return info.Env().Undefined();
}

// reduce(op, x, out, outer, red, inner): x viewed as [outer, red, inner] → out [outer, inner].
// Accumulates in double for sums so large reductions (loss over many tokens) keep float32 accuracy.
LRNN_HOT void SumMiddle(const float* x, float* o, int64_t outer, int64_t red, int64_t inner, double* acc, bool mean) {
  for (int64_t p = 0; p < outer; ++p) {
    const float* xp = x + p * red * inner;
    if (inner == 1) {
      double s = 0;
      for (int64_t r = 0; r < red; ++r) s += xp[r];
      o[p] = static_cast<float>(mean ? s / static_cast<double>(red) : s);
      continue;
    }
    std::fill(acc, acc + inner, 0.0);
    for (int64_t r = 0; r < red; ++r) {
      const float* row = xp + r * inner;
      for (int64_t i = 0; i < inner; ++i) acc[i] += row[i];
    }
    for (int64_t i = 0; i < inner; ++i) {
      o[p * inner + i] = static_cast<float>(mean ? acc[i] / static_cast<double>(red) : acc[i]);
    }
  }
}

Napi::Value ReduceOp(const Napi::CallbackInfo& info) {
  const int op = static_cast<int>(lrnn::Int(info, 0, "op"));
  const int64_t outer = lrnn::Int(info, 3, "outer"), red = lrnn::Int(info, 4, "red"), inner = lrnn::Int(info, 5, "inner");
  const float* x = lrnn::F32(info, 1, "x", static_cast<size_t>(outer * red * inner));
  float* o = lrnn::F32(info, 2, "out", static_cast<size_t>(outer * inner));
  if (op == kSum || op == kMean) {
    std::vector<double> acc(static_cast<size_t>(inner));
    SumMiddle(x, o, outer, red, inner, acc.data(), op == kMean);
    return info.Env().Undefined();
  }
  const bool isMax = op == kRMax;
  for (int64_t p = 0; p < outer; ++p) {
    for (int64_t i = 0; i < inner; ++i) {
      float best = x[p * red * inner + i];
      for (int64_t r = 1; r < red; ++r) {
        const float v = x[(p * red + r) * inner + i];
        if (std::isnan(v) || (isMax ? v > best : v < best)) best = v;
        if (std::isnan(best)) break;
      }
      o[p * inner + i] = best;
    }
  }
  return info.Env().Undefined();
}

// softmaxXent(logits [N,V], labels Int32 [N], loss [N], dlogits [N,V] | null, ignoreIndex)
// loss_n = logsumexp(z_n) − z_n[y_n]; dlogits = softmax(z) − onehot(y) (the caller scales it by the
// upstream gradient). Rows whose label equals ignoreIndex give 0 loss and 0 gradient.
LRNN_HOT void XentRows(const float* z, const int32_t* y, float* loss, float* dz, int64_t n, int64_t v, int32_t ignore) {
  for (int64_t r = 0; r < n; ++r) {
    const float* zr = z + r * v;
    float* dr = dz ? dz + r * v : nullptr;
    if (y[r] == ignore) {
      loss[r] = 0.f;
      if (dr) std::fill(dr, dr + v, 0.f);
      continue;
    }
    float m = -std::numeric_limits<float>::infinity();
    for (int64_t j = 0; j < v; ++j) m = std::max(m, zr[j]);
    double s = 0;
    if (dr) {
      for (int64_t j = 0; j < v; ++j) { const float e = std::exp(zr[j] - m); dr[j] = e; s += e; }
      const float inv = static_cast<float>(1.0 / s);
      for (int64_t j = 0; j < v; ++j) dr[j] *= inv;
      dr[y[r]] -= 1.f;
    } else {
      for (int64_t j = 0; j < v; ++j) s += std::exp(zr[j] - m);
    }
    loss[r] = static_cast<float>(std::log(s) + m - zr[y[r]]);
  }
}

Napi::Value SoftmaxXent(const Napi::CallbackInfo& info) {
  const int64_t n = lrnn::Int(info, 5, "rows"), v = lrnn::Int(info, 6, "vocab");
  const float* z = lrnn::F32(info, 0, "logits", static_cast<size_t>(n * v));
  const int32_t* y = lrnn::I32(info, 1, "labels", static_cast<size_t>(n));
  float* loss = lrnn::F32(info, 2, "loss", static_cast<size_t>(n));
  float* dz = info[3].IsNull() || info[3].IsUndefined() ? nullptr : lrnn::F32(info, 3, "dlogits", static_cast<size_t>(n * v));
  const int32_t ignore = static_cast<int32_t>(lrnn::Int(info, 4, "ignoreIndex"));
  for (int64_t r = 0; r < n; ++r) {
    if (y[r] != ignore && (y[r] < 0 || y[r] >= v)) {
      throw Napi::RangeError::New(info.Env(), "softmaxXent: label " + std::to_string(y[r]) + " at row " +
                                                  std::to_string(r) + " is outside [0, " + std::to_string(v) + ")");
    }
  }
  XentRows(z, y, loss, dz, n, v, ignore);
  return info.Env().Undefined();
}

// scaleRows(x [N,V], s [N], out): out[n,:] = x[n,:] * s[n] (the cross-entropy backward's upstream scaling).
Napi::Value ScaleRows(const Napi::CallbackInfo& info) {
  const int64_t n = lrnn::Int(info, 3, "rows"), v = lrnn::Int(info, 4, "cols");
  const float* x = lrnn::F32(info, 0, "x", static_cast<size_t>(n * v));
  const float* s = lrnn::F32(info, 1, "scale", static_cast<size_t>(n));
  float* o = lrnn::F32(info, 2, "out", static_cast<size_t>(n * v));
  for (int64_t r = 0; r < n; ++r) {
    const float k = s[r];
    for (int64_t j = 0; j < v; ++j) o[r * v + j] = x[r * v + j] * k;
  }
  return info.Env().Undefined();
}

// transpose(x, out, shape Int32Array, perm Int32Array): out = x.transpose(perm), any rank ≤ 8.
// Odometer over the output; the innermost output dim reads x with stride strideIn[perm[last]].
Napi::Value Transpose(const Napi::CallbackInfo& info) {
  const float* x = lrnn::F32(info, 0, "x");
  float* o = lrnn::F32(info, 1, "out");
  const int32_t* shape = lrnn::I32(info, 2, "shape");
  const int32_t* perm = lrnn::I32(info, 3, "perm");
  const int rank = static_cast<int>(lrnn::Len(info, 2));
  if (rank < 1 || rank > 8) throw Napi::RangeError::New(info.Env(), "transpose: rank must be 1..8");
  int64_t inStride[8], outShape[8], step[8];
  inStride[rank - 1] = 1;
  for (int d = rank - 2; d >= 0; --d) inStride[d] = inStride[d + 1] * shape[d + 1];
  for (int d = 0; d < rank; ++d) {
    outShape[d] = shape[perm[d]];
    step[d] = inStride[perm[d]];
  }
  const int64_t inner = outShape[rank - 1], s = step[rank - 1];
  int64_t outer = 1;
  for (int d = 0; d < rank - 1; ++d) outer *= outShape[d];
  int64_t idx[8] = {0};
  int64_t off = 0;
  for (int64_t r = 0; r < outer; ++r) {
    float* dst = o + r * inner;
    for (int64_t i = 0; i < inner; ++i) dst[i] = x[off + i * s];
    for (int d = rank - 2; d >= 0; --d) {
      if (++idx[d] < outShape[d]) { off += step[d]; break; }
      off -= step[d] * (outShape[d] - 1);
      idx[d] = 0;
    }
  }
  return info.Env().Undefined();
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("transpose", Napi::Function::New(env, Transpose));
  exports.Set("binary", Napi::Function::New(env, BinaryOp));
  exports.Set("unary", Napi::Function::New(env, UnaryOp));
  exports.Set("reduce", Napi::Function::New(env, ReduceOp));
  exports.Set("softmaxXent", Napi::Function::New(env, SoftmaxXent));
  exports.Set("scaleRows", Napi::Function::New(env, ScaleRows));
}

}  // namespace

LRNN_REGISTER(Init);
