// deltaRule: the DeltaNet recurrence as one differentiable TF.js op (math in README.md).
// The fused paths (native C++, pure-TS fallback, float64 reference) are registered as TF.js kernels
// 'LrnnDeltaRule' and 'LrnnDeltaRuleGrad' with a registered gradient, so tf.grads flows through both outputs
// (o and finalState) and the backward runs natively too. The chunkwise variant is plain TF.js ops (autodiff).
//
// B batch, T time, H heads, K key dim, V value dim. q,k [B,T,H,K]; v,o [B,T,H,V]; beta [B,T,H]; states [B,H,K,V].
import * as tf from '@tensorflow/tfjs-core';
import { hasTypedArrayStorage, nativeFn } from '../../backend/index.ts';
import { registerFusedOp } from '../common.ts';
import { deltaRuleChunk, type ChunkSize } from './chunk.ts';
import { deltaRuleFusedBackwardTs, deltaRuleFusedForwardTs, numCheckpoints } from './fused_ts.ts';
import { deltaRuleRef, deltaRuleRefBackward, type DeltaRuleDims } from './ref.ts';

export type DeltaRuleVariant = 'auto' | 'native' | 'fused_ts' | 'chunk' | 'reference';

export interface DeltaRuleOptions {
  /** Query scale (the layer passes 1/√K). Default 1. */
  scale?: number;
  /** S_0 [B,H,K,V]; zeros when absent. */
  initialState?: tf.Tensor4D;
  /** 'auto': native when the addon has it, else fused_ts on TypedArray backends, else chunk. */
  variant?: DeltaRuleVariant;
  /** Chunk length of the 'chunk' variant. Default 64. */
  chunkSize?: ChunkSize;
  /** Fused variants: keep the exact state every this many steps for the backward (0 = never). Default 64. */
  checkpointEvery?: number;
}

export const DELTA_RULE = 'LrnnDeltaRule';
export const DELTA_RULE_GRAD = 'LrnnDeltaRuleGrad';
/** Backends the fused kernels are registered on (they read and write storage through readSync/write). */
export const DELTA_RULE_BACKENDS = ['lrnn', 'cpu', 'wasm', 'tensorflow'];

type Impl = 'native' | 'fused_ts' | 'reference';
interface Attrs {
  scale: number;
  ckptEvery: number;
  impl: Impl;
  /** Whether to produce u, δ and the checkpoints (false when no gradient tape is recording). */
  save: boolean;
  [k: string]: unknown;
}

type NativeForward = (q: Float32Array, k: Float32Array, v: Float32Array, beta: Float32Array, s0: Float32Array | null,
  o: Float32Array, sT: Float32Array, u: Float32Array | null, delta: Float32Array | null, ckpt: Float32Array | null,
  B: number, T: number, H: number, K: number, V: number, scale: number, ckptEvery: number) => void;
type NativeBackward = (q: Float32Array, k: Float32Array, v: Float32Array, beta: Float32Array, s0: Float32Array | null,
  sT: Float32Array, u: Float32Array, delta: Float32Array, ckpt: Float32Array, dO: Float32Array | null, dsT: Float32Array | null,
  dq: Float32Array, dk: Float32Array, dv: Float32Array, dbeta: Float32Array, ds0: Float32Array,
  B: number, T: number, H: number, K: number, V: number, scale: number, ckptEvery: number) => void;

interface StorageBackend {
  readSync(dataId: object): unknown;
  write(values: Float32Array, shape: number[], dtype: 'float32'): object;
}

function read(backend: StorageBackend, t: tf.TensorInfo, name: string): Float32Array {
  if (t.dtype !== 'float32') throw new TypeError(`deltaRule: ${name} must be float32, got ${t.dtype}`);
  const v = backend.readSync(t.dataId);
  return v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
}

function write(backend: StorageBackend, values: Float32Array, shape: number[]): tf.TensorInfo {
  return { dataId: backend.write(values, shape, 'float32'), shape, dtype: 'float32' };
}

/** A Float32Array without the zero fill, for outputs the kernels overwrite completely (saves ~1 ms per call). */
function uninit(n: number): Float32Array {
  const b = Buffer.allocUnsafeSlow(n * 4);
  return new Float32Array(b.buffer, b.byteOffset, n);
}

function dimsOf(q: tf.TensorInfo, v: tf.TensorInfo): DeltaRuleDims {
  const [B, T, H, K] = q.shape as [number, number, number, number];
  return { B, T, H, K, V: v.shape[3]! };
}

function nativeOrThrow<F extends (...a: never[]) => unknown>(name: string): F {
  const f = nativeFn<F>(name);
  if (!f) throw new Error(`deltaRule: variant 'native' needs the addon's ${name} (run \`npm run build:native\`)`);
  return f;
}

function forwardKernel({ inputs, attrs, backend }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo[] {
  const be = backend as unknown as StorageBackend;
  const { q, k, v, beta, s0 } = inputs as Record<'q' | 'k' | 'v' | 'beta' | 's0', tf.TensorInfo>;
  const { scale, ckptEvery, impl, save } = attrs as unknown as Attrs;
  const d = dimsOf(q!, v!);
  const { B, T, H, K, V } = d;
  const a = { q: read(be, q!, 'q'), k: read(be, k!, 'k'), v: read(be, v!, 'v'), beta: read(be, beta!, 'beta') };
  const s0a = s0!.shape.length > 1 ? read(be, s0!, 'initialState') : null;
  if (impl === 'reference') {
    const r = deltaRuleRef(d, { ...a, s0: s0a }, { scale, dtype: 'float64' });
    // The reference backward recomputes everything from the inputs: nothing else to save.
    return [write(be, Float32Array.from(r.o), [B, T, H, V]), write(be, Float32Array.from(r.finalState), [B, H, K, V]),
      write(be, new Float32Array(0), [0]), write(be, new Float32Array(0), [0]), write(be, new Float32Array(0), [0])];
  }
  const nCk = save ? numCheckpoints(T, ckptEvery) : 0;
  const o = uninit(B * T * H * V), sT = uninit(B * H * K * V);
  const u = uninit(save ? B * T * H * V : 0), delta = uninit(save ? B * T * H * V : 0);
  const ckpt = uninit(B * H * nCk * K * V);
  if (impl === 'native') {
    nativeOrThrow<NativeForward>('deltaRuleForward')(a.q, a.k, a.v, a.beta, s0a, o, sT, save ? u : null, save ? delta : null,
      save ? ckpt : null, B, T, H, K, V, scale, ckptEvery);
  } else {
    deltaRuleFusedForwardTs(d, { ...a, s0: s0a, o, sT, u: save ? u : null, delta: save ? delta : null, ckpt: save ? ckpt : null }, scale, ckptEvery);
  }
  return [write(be, o, [B, T, H, V]), write(be, sT, [B, H, K, V]), write(be, u, save ? [B, T, H, V] : [0]),
    write(be, delta, save ? [B, T, H, V] : [0]), write(be, ckpt, [B, H, nCk, K, V])];
}

function backwardKernel({ inputs, attrs, backend }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo[] {
  const be = backend as unknown as StorageBackend;
  const I = inputs as Record<string, tf.TensorInfo>;
  const { scale, ckptEvery, impl } = attrs as unknown as Attrs;
  const d = dimsOf(I.q!, I.v!);
  const { B, T, H, K, V } = d;
  const a = { q: read(be, I.q!, 'q'), k: read(be, I.k!, 'k'), v: read(be, I.v!, 'v'), beta: read(be, I.beta!, 'beta') };
  const hasS0 = I.s0!.shape.length > 1;
  const s0 = hasS0 ? read(be, I.s0!, 'initialState') : null;
  const dO = read(be, I.dO!, 'dO'), dsT = read(be, I.dsT!, 'dFinalState');
  let g: { dq: Float32Array; dk: Float32Array; dv: Float32Array; dbeta: Float32Array; ds0: Float32Array };
  if (impl === 'reference') {
    const r = deltaRuleRefBackward(d, { ...a, s0 }, dO, dsT, { scale, dtype: 'float64' });
    g = { dq: Float32Array.from(r.dq), dk: Float32Array.from(r.dk), dv: Float32Array.from(r.dv), dbeta: Float32Array.from(r.dbeta), ds0: Float32Array.from(r.ds0) };
  } else {
    g = {
      dq: uninit(B * T * H * K), dk: uninit(B * T * H * K), dv: uninit(B * T * H * V),
      dbeta: uninit(B * T * H), ds0: uninit(B * H * K * V),
    };
    const sT = read(be, I.sT!, 'finalState'), u = read(be, I.u!, 'u'), delta = read(be, I.delta!, 'delta'), ckpt = read(be, I.ckpt!, 'ckpt');
    if (u.length !== B * T * H * V || ckpt.length !== B * H * numCheckpoints(T, ckptEvery) * K * V) {
      throw new Error('deltaRule: the forward saved nothing for the backward (it ran while no gradient tape was recording)');
    }
    if (impl === 'native') {
      nativeOrThrow<NativeBackward>('deltaRuleBackward')(a.q, a.k, a.v, a.beta, s0, sT, u, delta, ckpt, dO, dsT,
        g.dq, g.dk, g.dv, g.dbeta, g.ds0, B, T, H, K, V, scale, ckptEvery);
    } else {
      deltaRuleFusedBackwardTs(d, { ...a, s0, sT, u, delta, ckpt, dO, dsT, ...g }, scale, ckptEvery);
    }
  }
  return [write(be, g.dq, [B, T, H, K]), write(be, g.dk, [B, T, H, K]), write(be, g.dv, [B, T, H, V]),
    write(be, g.dbeta, [B, T, H]), hasS0 ? write(be, g.ds0, [B, H, K, V]) : write(be, new Float32Array(0), [0])];
}

let registered = false;
/** Registers the kernels and the gradient (idempotent; also done on import). */
export function registerDeltaRuleKernels(): void {
  if (registered) return;
  registered = true;
  for (const backendName of DELTA_RULE_BACKENDS) {
    // The lrnn backend copies cpu's kernels when it registers; register on it only if that already happened.
    if (backendName === 'lrnn' && !tf.findBackendFactory('lrnn')) continue;
    registerFusedOp({
      name: DELTA_RULE, gradName: DELTA_RULE_GRAD, inputs: ['q', 'k', 'v', 'beta', 's0'],
      forward: forwardKernel, backward: backwardKernel, outputsToSave: [false, true, true, true, true],
      gradInputs: (saved, dys) => {
        const [dO, dsT] = dys as tf.Tensor[];
        const [q, k, v, beta, s0, sT, u, delta, ckpt] = saved;
        return { q, k, v, beta, s0, sT, u, delta, ckpt, dO, dsT } as unknown as tf.NamedTensorMap;
      },
    }, backendName);
  }
}
registerDeltaRuleKernels();

function checkShapes(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, beta: tf.Tensor, s0: tf.Tensor | undefined): void {
  const name = (t: tf.Tensor) => `[${t.shape.join(',')}]`;
  if (q.rank !== 4) throw new Error(`deltaRule: q must be [B,T,H,K], got ${name(q)}`);
  if (k.rank !== 4 || k.shape.some((x, i) => x !== q.shape[i])) throw new Error(`deltaRule: k must match q ${name(q)}, got ${name(k)}`);
  const [B, T, H, K] = q.shape;
  if (v.rank !== 4 || v.shape[0] !== B || v.shape[1] !== T || v.shape[2] !== H) throw new Error(`deltaRule: v must be [${B},${T},${H},V], got ${name(v)}`);
  if (beta.rank !== 3 || beta.shape[0] !== B || beta.shape[1] !== T || beta.shape[2] !== H) throw new Error(`deltaRule: beta must be [${B},${T},${H}], got ${name(beta)}`);
  if (s0 && (s0.rank !== 4 || s0.shape[0] !== B || s0.shape[1] !== H || s0.shape[2] !== K || s0.shape[3] !== v.shape[3])) {
    throw new Error(`deltaRule: initialState must be [${B},${H},${K},${v.shape[3]}], got ${name(s0)}`);
  }
  for (const [n, t] of [['q', q], ['k', k], ['v', v], ['beta', beta], ['initialState', s0]] as const) {
    if (t && t.dtype !== 'float32') throw new TypeError(`deltaRule: ${n} must be float32, got ${t.dtype}`);
  }
}

/** The variant 'auto' resolves to on the active backend. */
export function resolveDeltaRuleVariant(variant: DeltaRuleVariant = 'auto'): Exclude<DeltaRuleVariant, 'auto'> {
  if (variant !== 'auto') return variant;
  const be = tf.getBackend();
  if (nativeFn('deltaRuleForward') && DELTA_RULE_BACKENDS.includes(be)) return 'native';
  if (hasTypedArrayStorage()) return 'fused_ts';
  return 'chunk';
}

/**
 * The delta rule: S_t = S_{t-1} + β_t k_t (v_t − S_{t-1}ᵀ k_t)ᵀ, o_t = scale · S_tᵀ q_t (S [K,V] per head).
 * Differentiable w.r.t. q, k, v, beta and initialState through both outputs. k should be unit-norm and β in
 * (0, 2) (README.md §5); neither is enforced.
 */
export function deltaRule(
  q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, beta: tf.Tensor3D, opts: DeltaRuleOptions = {},
): { o: tf.Tensor4D; finalState: tf.Tensor4D } {
  checkShapes(q, k, v, beta, opts.initialState);
  const scale = opts.scale ?? 1;
  let variant = resolveDeltaRuleVariant(opts.variant);
  // The native kernel keeps per-head rows in fixed-size register blocks (K, V ≤ 512).
  if (variant === 'native' && (opts.variant ?? 'auto') === 'auto' && (q.shape[3] > 512 || v.shape[3] > 512)) variant = 'fused_ts';
  if (variant === 'chunk') {
    return deltaRuleChunk(q, k, v, beta, { scale, initialState: opts.initialState ?? null, chunkSize: opts.chunkSize ?? 64 });
  }
  if (!DELTA_RULE_BACKENDS.includes(tf.getBackend())) {
    throw new Error(`deltaRule: variant '${variant}' runs on ${DELTA_RULE_BACKENDS.join('/')}, not on '${tf.getBackend()}' (use 'chunk')`);
  }
  const ckptEvery = Math.max(0, Math.floor(opts.checkpointEvery ?? 64));
  const s0: tf.Tensor = opts.initialState ?? tf.zeros([0]);
  const attrs: Attrs = { scale, ckptEvery, impl: variant, save: tf.engine().isTapeOn() };
  const outs = tf.engine().runKernel(DELTA_RULE, { q, k, v, beta, s0 } as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
  // u, δ and the checkpoints are only for the gradient; the tape keeps its own references.
  for (let i = 2; i < outs.length; ++i) outs[i]!.dispose();
  if (!opts.initialState) s0.dispose();
  return { o: outs[0] as tf.Tensor4D, finalState: outs[1] as tf.Tensor4D };
}
