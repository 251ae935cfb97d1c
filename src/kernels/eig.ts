// The allow_neg_eigval map, written once for the TypeScript code (src/native/eig.h is its twin in the C++
// kernels). With the flag a state-transition eigenvalue λ ∈ [0,1] becomes 2λ − 1 ∈ [−1,1]:
//   Mamba:    λ = exp(ΔA), so Ā = 2·exp(ΔA) − 1 (and dĀ/d(ΔA) = 2·exp(ΔA));
//   DeltaNet: I − β·kkᵀ has eigenvalue 1 − β along k, so β = sigmoid(·) becomes 2·sigmoid(·)
//             (1 − 2σ = 2(1 − σ) − 1).
// As an affine map: λ ↦ scale·λ + shift, (scale, shift) = (2, −1) with the flag and (1, 0) without.
import * as tf from '@tensorflow/tfjs-core';

export interface EigMap {
  readonly scale: number;
  readonly shift: number;
}

const STANDARD: EigMap = Object.freeze({ scale: 1, shift: 0 });
const EXTENDED: EigMap = Object.freeze({ scale: 2, shift: -1 });

export function eigMap(allowNegEigval: boolean): EigMap {
  return allowNegEigval ? EXTENDED : STANDARD;
}

/** Mamba's Ā for x = ΔA: exp(x), or 2·exp(x) − 1 with the flag. */
export function mambaDecay(x: number, allowNegEigval: boolean): number {
  const { scale, shift } = eigMap(allowNegEigval);
  return scale * Math.exp(x) + shift;
}

/** mambaDecay elementwise on a tensor of x = ΔA. */
export function mambaDecayTensor<T extends tf.Tensor>(x: T, allowNegEigval: boolean): T {
  const { scale, shift } = eigMap(allowNegEigval);
  const e = tf.exp(x);
  return scale === 1 && shift === 0 ? e : tf.add(tf.mul(e, scale), shift);
}

/** The x = ΔA below which Mamba's Ā is negative: ln(1/2) with the flag, −∞ (never) without. */
export function mambaNegativeBelow(allowNegEigval: boolean): number {
  const { scale, shift } = eigMap(allowNegEigval);
  return Math.log(-shift / scale);
}

/** DeltaNet's β from sigmoid(b_proj(u)): as is, or doubled with the flag. */
export function deltaNetBeta<T extends tf.Tensor>(sigmoid: T, allowNegEigval: boolean): T {
  const { scale } = eigMap(allowNegEigval);
  return scale === 1 ? sigmoid : tf.mul(sigmoid, scale);
}
