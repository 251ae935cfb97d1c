// Mamba-1 selective scan as a TF.js op: forward kernel 'LrnnSelectiveScan' and backward kernel
// 'LrnnSelectiveScanGrad', registered on 'cpu' at import (the 'lrnn' backend copies cpu's kernels) and on
// any other active backend at first use (wasm, webgl: through readSync, i.e. a download), tied together by
// tf.registerGradient so tf.grads flows to every input and the backward itself runs natively.
// Variants: 'native' (src/native/selective_scan.cc), 'fused_ts' (fused_ts.ts), 'reference' (ref.ts).
// Math: README.md. Shape legend: Bz batch, T time, D channels (d_inner), N state size.
import * as tf from '@tensorflow/tfjs-core';
import { nativeFn } from '../../backend/index.ts';
import { selectiveScanBackwardFusedTs, selectiveScanFusedTs, type ScanGradBuffers } from './fused_ts.ts';
import { type ScanArrays, type ScanDims, type ScanFlags, selectiveScanBackwardRef, selectiveScanRef } from './ref.ts';
import { expectShape as expectShapeOf, type FusedVariant, type HostBackend, hostCapable, makeInfo, readInput, registerFusedOp, resolveFusedVariant } from '../common.ts';

export { selectiveScanRef, selectiveScanBackwardRef } from './ref.ts';

export type SelectiveScanVariant = 'auto' | 'native' | 'fused_ts' | 'reference';

export interface SelectiveScanOptions {
  /** Skip weight D [D]: y += D ⊙ u. */
  D?: tf.Tensor1D;
  /** Gate [Bz,T,D]: y ← y ⊙ silu(z). */
  z?: tf.Tensor3D;
  /** Added to delta before the softplus [D]. */
  deltaBias?: tf.Tensor1D;
  /** Δ = softplus(delta + deltaBias) (Mamba's delta_softplus=True). Default false. */
  deltaSoftplus?: boolean;
  /** Ā = 2·exp(ΔA) − 1 ∈ (−1,1) when true, exp(ΔA) ∈ (0,1) when false. */
  allowNegEigval: boolean;
  /** h_0 [Bz,D,N]; zeros when absent. */
  initialState?: tf.Tensor3D;
  /** 'auto' (default): native when the addon has the kernel, else fused_ts. */
  variant?: SelectiveScanVariant;
}

export const SELECTIVE_SCAN = 'LrnnSelectiveScan';
export const SELECTIVE_SCAN_GRAD = 'LrnnSelectiveScanGrad';

/** Kernel input names, in the order the gradient saves them; absent optional inputs are empty tensors. */
const INPUTS = ['u', 'delta', 'A', 'B', 'C', 'D', 'z', 'deltaBias', 'initialState'] as const;
type InputName = (typeof INPUTS)[number];

interface ScanAttrs {
  deltaSoftplus: boolean;
  allowNegEigval: boolean;
  variant: 'native' | 'fused_ts' | 'reference';
}

type F = Float32Array;
type NativeFwd = (u: F, delta: F, A: F, B: F, C: F, Dskip: F | null, z: F | null, bias: F | null, h0: F | null,
  y: F, hT: F, batch: number, T: number, D: number, N: number, softplus: boolean, neg: boolean) => void;
type NativeBwd = (u: F, delta: F, A: F, B: F, C: F, Dskip: F | null, z: F | null, bias: F | null, h0: F | null,
  dy: F, dhT: F | null, du: F, ddelta: F, dA: F, dB: F, dC: F, dDskip: F | null, dz: F | null, dbias: F | null,
  dh0: F | null, batch: number, T: number, D: number, N: number, softplus: boolean, neg: boolean) => void;

function read(backend: HostBackend, t: tf.TensorInfo, name: string): Float32Array {
  return readInput('selectiveScan', backend, t, name);
}

function gather(backend: HostBackend, inputs: tf.NamedTensorInfoMap) {
  const arr = {} as Record<InputName, Float32Array>;
  for (const k of INPUTS) arr[k] = read(backend, inputs[k]!, k);
  const [batch, T, D] = inputs.u!.shape as [number, number, number];
  const N = inputs.A!.shape[1]!;
  const x: ScanArrays = {
    u: arr.u, delta: arr.delta, A: arr.A, B: arr.B, C: arr.C,
    Dskip: arr.D.length ? arr.D : null, z: arr.z.length ? arr.z : null,
    deltaBias: arr.deltaBias.length ? arr.deltaBias : null, h0: arr.initialState.length ? arr.initialState : null,
  };
  return { x, arr, dims: { batch, T, D, N } as ScanDims };
}

const orNull = (a: Float32Array) => (a.length ? a : null);

function forwardKernel({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo[] {
  const be = backend as unknown as HostBackend;
  const a = attrs as unknown as ScanAttrs;
  const { x, arr, dims } = gather(be, inputs);
  const { batch, T, D, N } = dims;
  const flags: ScanFlags = { deltaSoftplus: a.deltaSoftplus, allowNegEigval: a.allowNegEigval };
  let y: Float32Array = new Float32Array(batch * T * D), hT: Float32Array = new Float32Array(batch * D * N);
  if (a.variant === 'native') {
    const fwd = nativeFn<NativeFwd>('selectiveScanFwd');
    if (!fwd) throw new Error('selectiveScan: variant native requested but the addon lacks selectiveScanFwd');
    fwd(arr.u, arr.delta, arr.A, arr.B, arr.C, orNull(arr.D), orNull(arr.z), orNull(arr.deltaBias),
      orNull(arr.initialState), y, hT, batch, T, D, N, a.deltaSoftplus, a.allowNegEigval);
  } else if (a.variant === 'fused_ts') {
    selectiveScanFusedTs(x, dims, flags, y, hT);
  } else {
    const r = selectiveScanRef(x, dims, flags, false);
    y = r.y as Float32Array;
    hT = r.hT as Float32Array;
  }
  return [makeInfo(be, [batch, T, D], y), makeInfo(be, [batch, D, N], hT)];
}

function backwardKernel({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo[] {
  const be = backend as unknown as HostBackend;
  const a = attrs as unknown as ScanAttrs;
  const { x, arr, dims } = gather(be, inputs);
  const { batch, T, D, N } = dims;
  const flags: ScanFlags = { deltaSoftplus: a.deltaSoftplus, allowNegEigval: a.allowNegEigval };
  const dy = read(be, inputs.dy!, 'dy'), dhT = orNull(read(be, inputs.dhT!, 'dhT'));
  const maybe = (k: InputName, n: number) => (arr[k].length ? new Float32Array(n) : null);
  let g: ScanGradBuffers = {
    du: new Float32Array(batch * T * D), ddelta: new Float32Array(batch * T * D), dA: new Float32Array(D * N),
    dB: new Float32Array(batch * T * N), dC: new Float32Array(batch * T * N), dDskip: maybe('D', D),
    dz: maybe('z', batch * T * D), ddeltaBias: maybe('deltaBias', D), dh0: maybe('initialState', batch * D * N),
  };
  if (a.variant === 'native') {
    const bwd = nativeFn<NativeBwd>('selectiveScanBwd');
    if (!bwd) throw new Error('selectiveScan: variant native requested but the addon lacks selectiveScanBwd');
    bwd(arr.u, arr.delta, arr.A, arr.B, arr.C, orNull(arr.D), orNull(arr.z), orNull(arr.deltaBias),
      orNull(arr.initialState), dy, dhT, g.du, g.ddelta, g.dA, g.dB, g.dC, g.dDskip, g.dz, g.ddeltaBias, g.dh0,
      batch, T, D, N, a.deltaSoftplus, a.allowNegEigval);
  } else if (a.variant === 'fused_ts') {
    selectiveScanBackwardFusedTs(x, dims, flags, dy, dhT, g);
  } else {
    g = selectiveScanBackwardRef(x, dims, flags, dy, dhT, false) as ScanGradBuffers;
  }
  const out = (v: Float32Array | null, shape: number[]) =>
    v ? makeInfo(be, shape, v) : makeInfo(be, [0], new Float32Array(0));
  return [
    out(g.du, [batch, T, D]), out(g.ddelta, [batch, T, D]), out(g.dA, [D, N]), out(g.dB, [batch, T, N]),
    out(g.dC, [batch, T, N]), out(g.dDskip, [D]), out(g.dz, [batch, T, D]), out(g.ddeltaBias, [D]),
    out(g.dh0, [batch, D, N]),
  ];
}

/** Registers both kernels on `backendName` (idempotent) and the gradient (once). */
export function registerSelectiveScan(backendName: string): void {
  registerFusedOp({
    name: SELECTIVE_SCAN, gradName: SELECTIVE_SCAN_GRAD, inputs: INPUTS,
    forward: forwardKernel as tf.KernelFunc, backward: backwardKernel as tf.KernelFunc,
    gradInputs: (saved, dy) => {
      const [dyY, dyH] = dy as tf.Tensor[];
      const ins: tf.NamedTensorMap = { dy: dyY!, dhT: dyH! };
      INPUTS.forEach((k, i) => (ins[k] = saved[i]!));
      return ins;
    },
  }, backendName);
}

// Registered on 'cpu' at import, so the lrnn backend (which copies cpu's kernels when it registers) gets
// them too; a backend that registered earlier gets them at the first call.
registerSelectiveScan('cpu');

function resolveVariant(v: SelectiveScanVariant | undefined): FusedVariant {
  return resolveFusedVariant('selectiveScan', 'selectiveScanFwd', v);
}

function expectShape(name: string, t: tf.Tensor, shape: number[]): void {
  expectShapeOf('selectiveScan', name, t, shape);
}

/**
 * Mamba-1 selective scan: h_t = Ā_t ⊙ h_{t−1} + Δ_t B_t u_t, y_t = (C_t·h_t + D u_t) ⊙ silu(z_t), with
 * Δ = softplus(delta + deltaBias) (or without softplus), Ā = exp(ΔA) or 2·exp(ΔA) − 1 (allowNegEigval).
 * u, delta [Bz,T,D]; A [D,N] (negative: −exp(A_log)); B, C [Bz,T,N]. Returns y [Bz,T,D] and the final state
 * [Bz,D,N]. Differentiable w.r.t. u, delta, A, B, C, D, z, deltaBias and initialState.
 */
export function selectiveScan(u: tf.Tensor3D, delta: tf.Tensor3D, A: tf.Tensor2D, B: tf.Tensor3D, C: tf.Tensor3D,
  opts: SelectiveScanOptions): { y: tf.Tensor3D; finalState: tf.Tensor3D } {
  if (u.rank !== 3) throw new Error(`selectiveScan: u must be rank 3 [B,T,D], got [${u.shape}]`);
  if (A.rank !== 2) throw new Error(`selectiveScan: A must be rank 2 [D,N], got [${A.shape}]`);
  const [batch, T, D] = u.shape;
  const N = A.shape[1];
  expectShape('u', u, [batch, T, D]);
  expectShape('delta', delta, [batch, T, D]);
  expectShape('A', A, [D, N]);
  expectShape('B', B, [batch, T, N]);
  expectShape('C', C, [batch, T, N]);
  if (opts.D) expectShape('D', opts.D, [D]);
  if (opts.z) expectShape('z', opts.z, [batch, T, D]);
  if (opts.deltaBias) expectShape('deltaBias', opts.deltaBias, [D]);
  if (opts.initialState) expectShape('initialState', opts.initialState, [batch, D, N]);
  if (typeof opts.allowNegEigval !== 'boolean') throw new Error('selectiveScan: opts.allowNegEigval (boolean) is required');
  const variant = resolveVariant(opts.variant);
  const backendName = tf.getBackend();
  if (!hostCapable()) throw new Error(`selectiveScan: backend '${backendName}' is not supported (use lrnn, cpu or wasm)`);
  registerSelectiveScan(backendName);
  const attrs: ScanAttrs = { deltaSoftplus: opts.deltaSoftplus ?? false, allowNegEigval: opts.allowNegEigval, variant };
  const empties: tf.Tensor[] = [];
  const orEmpty = (t: tf.Tensor | undefined) => t ?? (empties.push(tf.zeros([0])), empties[empties.length - 1]!);
  const inputs: tf.NamedTensorMap = {
    u, delta, A, B, C, D: orEmpty(opts.D), z: orEmpty(opts.z), deltaBias: orEmpty(opts.deltaBias),
    initialState: orEmpty(opts.initialState),
  };
  const [y, finalState] = tf.engine().runKernel(SELECTIVE_SCAN, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
  // The placeholders stay alive while a gradient tape records this kernel (isTapeOn: state.activeTape stays set
  // after a gradient function throws, which would leak them); otherwise they can go now.
  if (!tf.engine().isTapeOn()) tf.dispose(empties);
  return { y: y as tf.Tensor3D, finalState: finalState as tf.Tensor3D };
}
