// Causal depthwise conv1d as a TF.js op: forward kernel 'LrnnCausalConv1d' and backward kernel
// 'LrnnCausalConv1dGrad', registered like selective_scan's (cpu at import, lrnn by copy, others such as wasm at
// first use through readSync), tied by tf.registerGradient so tf.grads reaches x, weight, bias and the initial
// state and the backward runs natively.
// Variants: 'native' (src/native/causal_conv1d.cc), 'fused_ts' (fused_ts.ts), 'reference' (ref.ts).
// Math: README.md. Shape legend: Bz batch, T time, C channels, W kernel width.
import * as tf from '@tensorflow/tfjs-core';
import { nativeFn } from '../../backend/index.ts';
import { causalConv1dBackwardFusedTs, causalConv1dFusedTs } from './fused_ts.ts';
import { type ConvArrays, type ConvDims, causalConv1dBackwardRef, causalConv1dRef } from './ref.ts';
import { expectShape as expectShapeOf, type FusedVariant, type HostBackend, hostCapable, makeInfo, readInput, registerFusedOp, resolveFusedVariant } from '../common.ts';

export { causalConv1dRef, causalConv1dBackwardRef } from './ref.ts';

export type CausalConv1dVariant = 'auto' | 'native' | 'fused_ts' | 'reference';

export interface CausalConv1dOptions {
  /** Per-channel bias [C]. */
  bias?: tf.Tensor1D;
  /** 'silu' applies y = silu(conv); null (default) leaves it linear. */
  activation?: 'silu' | null;
  /** The W−1 inputs before x[:,0], [Bz,W−1,C] (zeros when absent): continues a sequence across calls. */
  initialState?: tf.Tensor3D;
  /** 'auto' (default): native when the addon has the kernel, else fused_ts. */
  variant?: CausalConv1dVariant;
}

export const CAUSAL_CONV1D = 'LrnnCausalConv1d';
export const CAUSAL_CONV1D_GRAD = 'LrnnCausalConv1dGrad';

const INPUTS = ['x', 'weight', 'bias', 'initialState'] as const;
type InputName = (typeof INPUTS)[number];

interface ConvAttrs {
  silu: boolean;
  variant: 'native' | 'fused_ts' | 'reference';
}

type F = Float32Array;
type NativeFwd = (x: F, weight: F, bias: F | null, h0: F | null, y: F, batch: number, T: number, C: number, W: number, silu: boolean) => void;
type NativeBwd = (x: F, weight: F, bias: F | null, h0: F | null, dy: F, dx: F, dweight: F, dbias: F | null, dh0: F | null,
  batch: number, T: number, C: number, W: number, silu: boolean) => void;

function read(backend: HostBackend, t: tf.TensorInfo, name: string): Float32Array {
  return readInput('causalConv1d', backend, t, name);
}

const orNull = (a: Float32Array) => (a.length ? a : null);

function gather(backend: HostBackend, inputs: tf.NamedTensorInfoMap) {
  const arr = {} as Record<InputName, Float32Array>;
  for (const k of INPUTS) arr[k] = read(backend, inputs[k]!, k);
  const [batch, T, C] = inputs.x!.shape as [number, number, number];
  const W = inputs.weight!.shape[1]!;
  const a: ConvArrays = { x: arr.x, weight: arr.weight, bias: orNull(arr.bias), h0: orNull(arr.initialState) };
  return { a, arr, dims: { batch, T, C, W } as ConvDims };
}

function forwardKernel({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const be = backend as unknown as HostBackend;
  const at = attrs as unknown as ConvAttrs;
  const { a, arr, dims } = gather(be, inputs);
  const { batch, T, C, W } = dims;
  let y: Float32Array = new Float32Array(batch * T * C);
  if (at.variant === 'native') {
    const fwd = nativeFn<NativeFwd>('causalConv1dFwd');
    if (!fwd) throw new Error('causalConv1d: variant native requested but the addon lacks causalConv1dFwd');
    fwd(arr.x, arr.weight, orNull(arr.bias), orNull(arr.initialState), y, batch, T, C, W, at.silu);
  } else if (at.variant === 'fused_ts') {
    causalConv1dFusedTs(a, dims, at.silu, y);
  } else {
    y = causalConv1dRef(a, dims, at.silu, false) as Float32Array;
  }
  return makeInfo(be, [batch, T, C], y);
}

function backwardKernel({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo[] {
  const be = backend as unknown as HostBackend;
  const at = attrs as unknown as ConvAttrs;
  const { a, arr, dims } = gather(be, inputs);
  const { batch, T, C, W } = dims;
  const dy = read(be, inputs.dy!, 'dy');
  let g = {
    dx: new Float32Array(batch * T * C), dweight: new Float32Array(C * W),
    dbias: arr.bias.length ? new Float32Array(C) : null,
    dh0: arr.initialState.length ? new Float32Array(batch * (W - 1) * C) : null,
  };
  if (at.variant === 'native') {
    const bwd = nativeFn<NativeBwd>('causalConv1dBwd');
    if (!bwd) throw new Error('causalConv1d: variant native requested but the addon lacks causalConv1dBwd');
    bwd(arr.x, arr.weight, orNull(arr.bias), orNull(arr.initialState), dy, g.dx, g.dweight, g.dbias, g.dh0, batch, T, C, W, at.silu);
  } else if (at.variant === 'fused_ts') {
    causalConv1dBackwardFusedTs(a, dims, at.silu, dy, g);
  } else {
    g = causalConv1dBackwardRef(a, dims, at.silu, dy, false) as typeof g;
  }
  const out = (v: Float32Array | null, shape: number[]) =>
    v ? makeInfo(be, shape, v) : makeInfo(be, [0], new Float32Array(0));
  return [out(g.dx, [batch, T, C]), out(g.dweight, [C, W]), out(g.dbias, [C]), out(g.dh0, [batch, W - 1, C])];
}

/** Registers both kernels on `backendName` (idempotent) and the gradient (once). */
export function registerCausalConv1d(backendName: string): void {
  registerFusedOp({
    name: CAUSAL_CONV1D, gradName: CAUSAL_CONV1D_GRAD, inputs: INPUTS,
    forward: forwardKernel as tf.KernelFunc, backward: backwardKernel as tf.KernelFunc,
    gradInputs: (saved, dy) => {
      const ins: tf.NamedTensorMap = { dy: dy as tf.Tensor };
      INPUTS.forEach((k, i) => (ins[k] = saved[i]!));
      return ins;
    },
  }, backendName);
}

// Registered on 'cpu' at import so the lrnn backend copies them when it registers; see selective_scan.
registerCausalConv1d('cpu');

function resolveVariant(v: CausalConv1dVariant | undefined): FusedVariant {
  return resolveFusedVariant('causalConv1d', 'causalConv1dFwd', v);
}

function expectShape(name: string, t: tf.Tensor, shape: number[]): void {
  expectShapeOf('causalConv1d', name, t, shape);
}

/**
 * y[b,t,c] = act(bias[c] + Σ_{j<W} weight[c,j] · x[b, t−W+1+j, c]), inputs before t = 0 taken from
 * initialState (or zero). x [Bz,T,C], weight [C,W] (PyTorch's [C,1,W] squeezed). Returns y [Bz,T,C].
 * Differentiable w.r.t. x, weight, bias and initialState.
 */
export function causalConv1d(x: tf.Tensor3D, weight: tf.Tensor2D, opts: CausalConv1dOptions = {}): tf.Tensor3D {
  if (x.rank !== 3) throw new Error(`causalConv1d: x must be rank 3 [B,T,C], got [${x.shape}]`);
  if (weight.rank !== 2) throw new Error(`causalConv1d: weight must be rank 2 [C,W], got [${weight.shape}]`);
  const [batch, T, C] = x.shape;
  const W = weight.shape[1];
  expectShape('x', x, [batch, T, C]);
  expectShape('weight', weight, [C, W]);
  if (W < 1) throw new Error('causalConv1d: kernel width must be at least 1');
  if (opts.bias) expectShape('bias', opts.bias, [C]);
  if (opts.initialState) expectShape('initialState', opts.initialState, [batch, W - 1, C]);
  if (opts.activation !== undefined && opts.activation !== null && opts.activation !== 'silu') {
    throw new Error(`causalConv1d: activation must be 'silu' or null, got '${String(opts.activation)}'`);
  }
  const variant = resolveVariant(opts.variant);
  const backendName = tf.getBackend();
  if (!hostCapable()) throw new Error(`causalConv1d: backend '${backendName}' is not supported (use lrnn, cpu or wasm)`);
  registerCausalConv1d(backendName);
  const attrs: ConvAttrs = { silu: opts.activation === 'silu', variant };
  const empties: tf.Tensor[] = [];
  const orEmpty = (t: tf.Tensor | undefined) => t ?? (empties.push(tf.zeros([0])), empties[empties.length - 1]!);
  const inputs: tf.NamedTensorMap = { x, weight, bias: orEmpty(opts.bias), initialState: orEmpty(opts.initialState) };
  const y = tf.engine().runKernel(CAUSAL_CONV1D, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor3D;
  if (!tf.engine().isTapeOn()) tf.dispose(empties);
  return y;
}

/**
 * The conv state after x: the last W−1 rows of [initialState; x] along time, [Bz,W−1,C]. Pass it as the
 * next call's initialState to continue the sequence (decoding).
 */
export function causalConv1dState(x: tf.Tensor3D, width: number, initialState?: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const [batch, T, C] = x.shape;
    const prev = initialState ?? tf.zeros([batch, width - 1, C]);
    const all = tf.concat([prev, x], 1);
    return tf.slice(all, [0, T, 0], [batch, width - 1, C]) as tf.Tensor3D;
  });
}
