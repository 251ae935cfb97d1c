// The allow_neg_eigval map of Mamba's state transition, written once for every kernel: Ā = 2·exp(x) − 1 on
// the extended range (eigenvalues in (−1, 1)), Ā = exp(x) on the standard one (src/kernels/selective_scan/README.md).
// As an affine map of e = exp(x): Ā = scale·e + shift, and dĀ/dx = scale·e.
#pragma once

namespace lrnn {

struct EigMap {
  float scale, shift;
};

constexpr EigMap EigMapFor(bool allowNegEigval) { return allowNegEigval ? EigMap{2.f, -1.f} : EigMap{1.f, 0.f}; }

}  // namespace lrnn
