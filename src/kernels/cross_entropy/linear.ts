// Linear + cross-entropy: the LM head (logits = x · Wᵀ) and its loss as one op that never holds the N × V
// logits. The native kernel (src/native/linear_xent.cc) streams over chunks of rows, keeping chunkRows × V
// logits at a time; under a gradient tape it turns each chunk's dlogits into dX and dW right away, so the
// backward only scales them by the upstream gradient (three GEMMs in all, as unfused, and no recomputation).
// Math: README.md. N rows (tokens), D features, V vocab.
import * as tf from '@tensorflow/tfjs-core';
import { f32, fromF32, hasTypedArrayStorage, i32, nativeFn } from '../../backend/index.ts';
import { IGNORE_INDEX, recordingGradients, softmaxCrossEntropy } from './index.ts';
import { linearXentRef } from './ref.ts';

export type LinearCrossEntropyVariant = 'auto' | 'native' | 'reference' | 'composite';

export interface LinearCrossEntropyOptions {
  /** Rows with this label give 0 loss and 0 gradient (default −100, PyTorch's). */
  ignoreIndex?: number;
  /** 'sum' (default) of the row losses, or 'mean' over all N rows (ignored rows counted, as tf.mean of them). */
  reduction?: 'sum' | 'mean';
  /** Rows of logits per chunk (default: CHUNK_FLOATS / V, at least 16). */
  chunkRows?: number;
  /**
   * 'auto' (default): native when the addon has linearXent and tensors live in TypedArrays, else 'composite'
   * (matMul + softmaxCrossEntropy: holds the logits). 'reference': ref.ts in float64 (tests; slow).
   */
  variant?: LinearCrossEntropyVariant;
}

/** Logits per chunk: 4 Mi floats (16 MiB), against 64 MiB of logits (and as much of dlogits) for 8 × 256 × 8192. */
export const CHUNK_FLOATS = 1 << 22;

type NativeLinearXent = (x: Float32Array, w: Float32Array, labels: Int32Array, N: number, D: number, V: number, ignoreIndex: number,
  chunkRows: number, scale: number, gx: Float32Array | null, gw: Float32Array | null, rowLoss: Float32Array | null) => number;

export function defaultChunkRows(V: number): number {
  return Math.max(16, Math.floor(CHUNK_FLOATS / Math.max(1, V)));
}

function resolveVariant(v: LinearCrossEntropyVariant | undefined): Exclude<LinearCrossEntropyVariant, 'auto'> {
  const fast = hasTypedArrayStorage() && nativeFn('linearXent') !== null;
  if (v === undefined || v === 'auto') return fast ? 'native' : 'composite';
  if (v === 'native' && !fast) throw new Error('linearCrossEntropy: variant native needs the native addon (linearXent) and the lrnn or cpu backend');
  if (v === 'reference' && !hasTypedArrayStorage()) throw new Error('linearCrossEntropy: variant reference needs the lrnn or cpu backend');
  if (v !== 'native' && v !== 'reference' && v !== 'composite') throw new Error(`linearCrossEntropy: unknown variant '${String(v)}'`);
  return v;
}

/** Shapes, dtypes and chunk size checked once for both entry points; [N, D, V] and the chunk. */
function checkArgs(op: string, x: tf.Tensor2D, weight: tf.Tensor2D | tf.Variable, labels: tf.Tensor1D, chunk: number | undefined): { N: number; D: number; V: number; chunkRows: number } {
  if (x.rank !== 2 || weight.rank !== 2) throw new Error(`${op}: x must be [N,D] and weight [V,D], got [${x.shape}] and [${weight.shape}]`);
  const [N, D] = x.shape;
  const V = weight.shape[0]!;
  if (weight.shape[1] !== D) throw new Error(`${op}: x has ${D} features but weight is [${weight.shape}]`);
  if (x.dtype !== 'float32' || weight.dtype !== 'float32') throw new TypeError(`${op}: x and weight must be float32, got ${x.dtype} and ${weight.dtype}`);
  if (labels.dtype !== 'int32') throw new TypeError(`${op}: labels must be int32, got ${labels.dtype}`);
  if (labels.rank !== 1 || labels.shape[0] !== N) throw new Error(`${op}: ${N} rows but labels are [${labels.shape}]`);
  const chunkRows = chunk ?? defaultChunkRows(V);
  if (!Number.isInteger(chunkRows) || chunkRows < 1) throw new Error(`${op}: chunkRows must be a positive integer, got ${chunkRows}`);
  return { N, D, V, chunkRows };
}

/**
 * scale · Σ_n CE(x[n] · Wᵀ, labels[n]) for x [N,D], weight [V,D] (PyTorch's [out, in] layout) and int32
 * labels [N]; scale = 1 ('sum') or 1/N ('mean'). Differentiable w.r.t. x and weight.
 */
export function linearCrossEntropy(x: tf.Tensor2D, weight: tf.Tensor2D | tf.Variable, labels: tf.Tensor1D, opts: LinearCrossEntropyOptions = {}): tf.Scalar {
  const { N, D, V, chunkRows } = checkArgs('linearCrossEntropy', x, weight, labels, opts.chunkRows);
  const ignoreIndex = opts.ignoreIndex ?? IGNORE_INDEX;
  const scale = opts.reduction === 'mean' ? 1 / N : 1;
  const variant = resolveVariant(opts.variant);
  if (variant === 'composite') {
    return tf.tidy(() => {
      const rows = softmaxCrossEntropy(tf.matMul(x, weight as tf.Tensor2D, false, true), labels, { ignoreIndex });
      return tf.mul(tf.sum(rows), scale) as tf.Scalar;
    });
  }
  // Gradients come with the loss only when a tape records (training); evaluation pays for the logits alone.
  const withGrads = recordingGradients();
  const f = tf.customGrad(((xT: tf.Tensor, wT: tf.Tensor) => {
    const gx = withGrads ? new Float32Array(N * D) : null, gw = withGrads ? new Float32Array(V * D) : null;
    const xv = f32(xT), wv = f32(wT), yv = i32(labels);
    const total = variant === 'native'
      ? nativeFn<NativeLinearXent>('linearXent')!(xv, wv, yv, N, D, V, ignoreIndex, chunkRows, scale, gx, gw, null)
      : linearXentRef(xv, wv, yv, N, D, V, { ignoreIndex, scale, ...(gx && gw ? { gx, gw } : {}) });
    let used = false;
    return {
      value: tf.scalar(total * scale),
      gradFunc: (dy: tf.Tensor) => {
        if (!gx || !gw) throw new Error('linearCrossEntropy: gradient of a loss computed outside a gradient tape');
        if (used) throw new Error('linearCrossEntropy: the gradient was already taken once');
        used = true;
        const s = f32(dy)[0]!;
        if (s !== 1) {
          for (let i = 0; i < gx.length; ++i) gx[i]! *= s;
          for (let i = 0; i < gw.length; ++i) gw[i]! *= s;
        }
        return [fromF32(gx, [N, D]), fromF32(gw, [V, D])];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  // The named scope is what tf.profile reports for this op (a customGrad has no kernel name of its own).
  return tf.tidy('LinearCrossEntropy', () => f(x, weight) as tf.Scalar);
}

/**
 * Per-row losses [N] of the same op, CE(x[n] · Wᵀ, labels[n]) (0 for ignored rows), for evaluation, which
 * needs each token's NLL (per-position perplexity): the same streamed kernel, its rowLoss output, no N × V
 * logits. Forward only: under a gradient tape it throws (differentiate linearCrossEntropy instead).
 */
export function linearCrossEntropyRows(x: tf.Tensor2D, weight: tf.Tensor2D | tf.Variable, labels: tf.Tensor1D, opts: Omit<LinearCrossEntropyOptions, 'reduction'> = {}): tf.Tensor1D {
  const op = 'linearCrossEntropyRows';
  const { N, D, V, chunkRows } = checkArgs(op, x, weight, labels, opts.chunkRows);
  if (recordingGradients()) throw new Error(`${op}: forward only (no gradient); use linearCrossEntropy for a loss to differentiate`);
  const ignoreIndex = opts.ignoreIndex ?? IGNORE_INDEX;
  const variant = resolveVariant(opts.variant);
  if (variant === 'composite') return tf.tidy(() => softmaxCrossEntropy(tf.matMul(x, weight as tf.Tensor2D, false, true), labels, { ignoreIndex }));
  const rowLoss = new Float32Array(N);
  const xv = f32(x), wv = f32(weight), yv = i32(labels);
  if (variant === 'native') nativeFn<NativeLinearXent>('linearXent')!(xv, wv, yv, N, D, V, ignoreIndex, chunkRows, 1, null, null, rowLoss);
  else linearXentRef(xv, wv, yv, N, D, V, { ignoreIndex, rowLoss });
  return tf.tidy('LinearCrossEntropy', () => fromF32(rowLoss, [N]) as tf.Tensor1D);
}
