// 16-lane float vectors (GCC vector extensions: one AVX-512 register or two AVX2 ones, so the lowering is
// certain rather than left to the auto-vectoriser) and the transcendental helpers the fused Mamba kernels
// (selective_scan.cc, causal_conv1d.cc) share. Everything is inlined into the callers' LRNN_HOT clones.
#pragma once
#include <cstring>

// 64-byte vector types pass through inline helpers only; the ABI note about them does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace lrnn::simd16 {

constexpr int kLanes = 16;
typedef float vf __attribute__((vector_size(kLanes * sizeof(float))));
typedef int vi __attribute__((vector_size(kLanes * sizeof(int))));

#define INL static inline __attribute__((always_inline))

INL vf splat(float x) { return vf{} + x; }

// exp on 16 lanes (Cephes expf: Cody–Waite reduction, degree-5 polynomial, about 1 ulp). Inputs are clamped
// to [−87.3, 88.3]; exp(−87.3) ≈ 1.2e−38 stands in for 0, which changes no result beyond float32 rounding.
INL vf vexp(vf x) {
  x = x < -87.3f ? splat(-87.3f) : x;
  x = x > 88.3f ? splat(88.3f) : x;
  const vf magic = splat(12582912.0f);  // 1.5·2^23: adding and subtracting it rounds to the nearest integer
  const vf n = (x * 1.44269504088896341f + magic) - magic;
  vf r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  vf p = splat(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const vf y = p * (r * r) + r + 1.0f;
  const vi bits = (__builtin_convertvector(n, vi) + 127) << 23;
  vf scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return y * scale;
}

// σ(x) from e = exp(−|x|): 1/(1+e) for x ≥ 0, e/(1+e) otherwise (no overflow for large |x|).
INL vf vsigmoid(vf x) {
  const vf e = vexp(x < 0.0f ? x : -x);
  const vf r = 1.0f / (e + 1.0f);
  return x >= 0.0f ? r : e * r;
}

}  // namespace lrnn::simd16
