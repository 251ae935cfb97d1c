// Fused softmax cross-entropy: per-row loss from logits [N,V] and int32 labels [N], with its gradient.
// The LM's loss spends most of its non-matmul time here: TF.js's composite (logSoftmax, gather, sums)
// makes several [N,V] passes and temporaries; the fused kernel makes one pass forward and keeps
// softmax − onehot for the backward. N rows, V vocab.
import * as tf from '@tensorflow/tfjs-core';
import { f32, fromF32, hasTypedArrayStorage, i32, native } from '../../backend/index.ts';
import { softmaxXentRef } from './ref.ts';

export const IGNORE_INDEX = -100;

/**
 * True while a gradient tape records (inside tf.grad / tf.variableGrads): TF.js's own test, as deltaRule's.
 * Its state.activeTape is not one: it stays set after a gradient function throws, until the next successful one.
 */
export function recordingGradients(): boolean {
  return tf.engine().isTapeOn();
}

/**
 * Per-row cross-entropy loss [N] of `logits` [N,V] against `labels` [N] (int32). Rows whose label is
 * `ignoreIndex` (default −100, PyTorch's) contribute 0 loss and 0 gradient. Differentiable w.r.t. logits.
 */
export function softmaxCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, opts: { ignoreIndex?: number } = {}): tf.Tensor1D {
  const ignoreIndex = opts.ignoreIndex ?? IGNORE_INDEX;
  const [rows, vocab] = logits.shape;
  if (labels.dtype !== 'int32') throw new TypeError(`softmaxCrossEntropy: labels must be int32, got ${labels.dtype}`);
  if (labels.shape[0] !== rows) throw new Error(`softmaxCrossEntropy: ${rows} logit rows but ${labels.shape[0]} labels`);
  if (!hasTypedArrayStorage()) return composite(logits, labels, ignoreIndex);
  // Without a gradient tape (evaluation) nothing will ask for the gradient: skip softmax − onehot, an
  // [N,V] array as large as the logits. The loss is computed the same way either way.
  const withGrad = recordingGradients();
  const f = tf.customGrad(((z: tf.Tensor, save: tf.GradSaveFunc) => {
    const loss = new Float32Array(rows);
    const dz = withGrad ? new Float32Array(rows * vocab) : null;
    const addon = native();
    if (addon) addon.softmaxXent(f32(z), i32(labels), loss, dz, ignoreIndex, rows, vocab);
    else softmaxXentRef(f32(z), i32(labels), loss, dz, rows, vocab, ignoreIndex);
    save(dz ? [fromF32(dz, [rows, vocab])] : []);
    return {
      value: fromF32(loss, [rows]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const d = saved[0];
        if (!d) throw new Error('softmaxCrossEntropy: gradient of a loss computed outside a gradient tape');
        const out = new Float32Array(rows * vocab);
        if (addon) addon.scaleRows(f32(d), f32(dy), out, rows, vocab);
        else {
          const dv = f32(d), s = f32(dy);
          for (let r = 0; r < rows; ++r) for (let j = 0; j < vocab; ++j) out[r * vocab + j] = dv[r * vocab + j]! * s[r]!;
        }
        return fromF32(out, [rows, vocab]);
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(logits) as tf.Tensor1D;
}

/** The same loss from TF.js ops, for backends without TypedArray storage (wasm, tfjs-node, GPU). */
function composite(logits: tf.Tensor2D, labels: tf.Tensor1D, ignoreIndex: number): tf.Tensor1D {
  return tf.tidy(() => {
    const valid = tf.notEqual(labels, tf.scalar(ignoreIndex, 'int32'));
    const safe = tf.where(valid, labels, tf.zerosLike(labels));
    const logp = tf.logSoftmax(logits);
    const picked = tf.sum(tf.mul(logp, tf.oneHot(safe, logits.shape[1])), 1);
    return tf.mul(tf.neg(picked), tf.cast(valid, 'float32')) as tf.Tensor1D;
  });
}
