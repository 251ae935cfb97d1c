// GEMM through OpenBLAS and BLAS thread control. The TF.js MatMul/BatchMatMul kernels (src/backend/kernels)
// call batchMatMul with per-batch offsets that JS computes, so every broadcast pattern maps to plain sgemm.
#include <cblas.h>

#include "registry.h"

extern "C" {
// OpenBLAS extensions (declared in cblas.h on most builds; repeated here for the ones that are not).
void openblas_set_num_threads(int);
int openblas_get_num_threads(void);
char* openblas_get_config(void);
char* openblas_get_corename(void);
}

namespace {

// batchMatMul(a, b, out, M, N, K, transA, transB, aOffsets, bOffsets, batch)
// out[i] = op(a[aOff[i]..]) [M,K] x op(b[bOff[i]..]) [K,N], row-major, out batches contiguous.
Napi::Value BatchMatMul(const Napi::CallbackInfo& info) {
  const int64_t M = lrnn::Int(info, 3, "M"), N = lrnn::Int(info, 4, "N"), K = lrnn::Int(info, 5, "K");
  const bool tA = lrnn::Bool(info, 6), tB = lrnn::Bool(info, 7);
  const int64_t batch = lrnn::Int(info, 10, "batch");
  float* a = lrnn::F32(info, 0, "a");
  float* b = lrnn::F32(info, 1, "b");
  float* c = lrnn::F32(info, 2, "out", static_cast<size_t>(batch * M * N));
  if (!info[8].IsTypedArray() || !info[9].IsTypedArray()) {
    throw Napi::TypeError::New(info.Env(), "aOffsets/bOffsets must be Float64Arrays");
  }
  const double* aOff = info[8].As<Napi::Float64Array>().Data();
  const double* bOff = info[9].As<Napi::Float64Array>().Data();
  const size_t aLen = lrnn::Len(info, 0), bLen = lrnn::Len(info, 1);
  for (int64_t i = 0; i < batch; ++i) {
    const size_t ao = static_cast<size_t>(aOff[i]), bo = static_cast<size_t>(bOff[i]);
    if (ao + static_cast<size_t>(M * K) > aLen || bo + static_cast<size_t>(K * N) > bLen) {
      throw Napi::RangeError::New(info.Env(), "batchMatMul: operand offset out of range");
    }
    cblas_sgemm(CblasRowMajor, tA ? CblasTrans : CblasNoTrans, tB ? CblasTrans : CblasNoTrans,
                static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), 1.0f, a + ao,
                static_cast<int>(tA ? M : K), b + bo, static_cast<int>(tB ? K : N), 0.0f,
                c + static_cast<size_t>(i * M * N), static_cast<int>(N));
  }
  return info.Env().Undefined();
}

// sgemm(a, b, c, M, N, K, transA, transB[, alpha, beta]): one row-major GEMM, C = alpha op(A) op(B) + beta C.
Napi::Value Sgemm(const Napi::CallbackInfo& info) {
  const int64_t M = lrnn::Int(info, 3, "M"), N = lrnn::Int(info, 4, "N"), K = lrnn::Int(info, 5, "K");
  const bool tA = lrnn::Bool(info, 6), tB = lrnn::Bool(info, 7);
  const float alpha = info.Length() > 8 ? static_cast<float>(lrnn::Num(info, 8, "alpha")) : 1.0f;
  const float beta = info.Length() > 9 ? static_cast<float>(lrnn::Num(info, 9, "beta")) : 0.0f;
  float* a = lrnn::F32(info, 0, "a", static_cast<size_t>(M * K));
  float* b = lrnn::F32(info, 1, "b", static_cast<size_t>(K * N));
  float* c = lrnn::F32(info, 2, "c", static_cast<size_t>(M * N));
  cblas_sgemm(CblasRowMajor, tA ? CblasTrans : CblasNoTrans, tB ? CblasTrans : CblasNoTrans,
              static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), alpha, a,
              static_cast<int>(tA ? M : K), b, static_cast<int>(tB ? K : N), beta, c, static_cast<int>(N));
  return info.Env().Undefined();
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  openblas_set_num_threads(static_cast<int>(lrnn::Int(info, 0, "threads")));
  return info.Env().Undefined();
}

Napi::Value GetThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), openblas_get_num_threads());
}

Napi::Value BlasInfo(const Napi::CallbackInfo& info) {
  auto o = Napi::Object::New(info.Env());
  o.Set("config", Napi::String::New(info.Env(), openblas_get_config()));
  o.Set("coreName", Napi::String::New(info.Env(), openblas_get_corename()));
  o.Set("threads", Napi::Number::New(info.Env(), openblas_get_num_threads()));
  return o;
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("batchMatMul", Napi::Function::New(env, BatchMatMul));
  exports.Set("sgemm", Napi::Function::New(env, Sgemm));
  exports.Set("setBlasThreads", Napi::Function::New(env, SetThreads));
  exports.Set("getBlasThreads", Napi::Function::New(env, GetThreads));
  exports.Set("blasInfo", Napi::Function::New(env, BlasInfo));
}

}  // namespace

LRNN_REGISTER(Init);
