// Plain-TS reference of the delta rule (the test oracle): the recurrence written as in README.md §1, one
// token at a time, keeping every state so the backward (README.md §3) reads S_{t-1} exactly.
// Slow and memory-hungry (T·K·V per head) on purpose: no trick here can hide a bug shared with the fast paths.
//
// B batch, T time, H heads, K key dim, V value dim. q,k [B,T,H,K], v [B,T,H,V], beta [B,T,H], states [B,H,K,V].

export type Floats = Float32Array | Float64Array;

export interface DeltaRuleDims {
  B: number;
  T: number;
  H: number;
  K: number;
  V: number;
}

export interface DeltaRuleArrays {
  q: ArrayLike<number>;
  k: ArrayLike<number>;
  v: ArrayLike<number>;
  beta: ArrayLike<number>;
  /** Initial state [B,H,K,V]; zeros when absent. */
  s0?: ArrayLike<number> | null;
}

export interface DeltaRuleRefOptions {
  scale?: number;
  /** Storage precision of every intermediate; 'float64' for finite-difference checks. Default 'float64'. */
  dtype?: 'float32' | 'float64';
}

export interface DeltaRuleGrads<A extends Floats = Floats> {
  dq: A;
  dk: A;
  dv: A;
  dbeta: A;
  ds0: A;
}

function alloc(n: number, dtype: 'float32' | 'float64'): Floats {
  return dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
}

/** Checks that every array has the length its shape needs; names the first that does not. */
export function checkDims(d: DeltaRuleDims, a: DeltaRuleArrays): void {
  const { B, T, H, K, V } = d;
  const want: [string, ArrayLike<number> | null | undefined, number][] = [
    ['q', a.q, B * T * H * K], ['k', a.k, B * T * H * K], ['v', a.v, B * T * H * V], ['beta', a.beta, B * T * H],
    ['initialState', a.s0, B * H * K * V],
  ];
  for (const [name, arr, n] of want) {
    if (arr != null && arr.length !== n) {
      throw new RangeError(`deltaRule: ${name} has ${arr.length} values, expected ${n} for B${B} T${T} H${H} K${K} V${V}`);
    }
  }
}

/** All states S_0..S_T of one (b,h), [T+1][K*V], plus o. */
function forwardStates(d: DeltaRuleDims, a: DeltaRuleArrays, scale: number, dtype: 'float32' | 'float64', b: number, h: number, o: Floats): Floats[] {
  const { T, H, K, V } = d;
  const KV = K * V;
  const states: Floats[] = [];
  let S = alloc(KV, dtype);
  if (a.s0) for (let i = 0; i < KV; ++i) S[i] = a.s0[(b * H + h) * KV + i]!;
  states.push(S);
  const e = alloc(V, dtype);
  for (let t = 0; t < T; ++t) {
    const row = (b * T + t) * H + h;
    const qo = row * K, ko = row * K, vo = row * V;
    const beta = a.beta[row]!;
    // e = v_t − S_{t-1}ᵀ k_t
    for (let j = 0; j < V; ++j) {
      let acc = 0;
      for (let i = 0; i < K; ++i) acc += S[i * V + j]! * a.k[ko + i]!;
      e[j] = a.v[vo + j]! - acc;
    }
    // S_t = S_{t-1} + β_t k_t e_tᵀ
    const Sn = alloc(KV, dtype);
    for (let i = 0; i < K; ++i) {
      const bk = beta * a.k[ko + i]!;
      for (let j = 0; j < V; ++j) Sn[i * V + j] = S[i * V + j]! + bk * e[j]!;
    }
    S = Sn;
    states.push(S);
    // o_t = scale · S_tᵀ q_t
    for (let j = 0; j < V; ++j) {
      let acc = 0;
      for (let i = 0; i < K; ++i) acc += S[i * V + j]! * a.q[qo + i]!;
      o[row * V + j] = scale * acc;
    }
  }
  return states;
}

/** o [B,T,H,V] and the final state [B,H,K,V] of the delta rule. */
export function deltaRuleRef(d: DeltaRuleDims, a: DeltaRuleArrays, opts: DeltaRuleRefOptions = {}): { o: Floats; finalState: Floats } {
  checkDims(d, a);
  const dtype = opts.dtype ?? 'float64';
  const scale = opts.scale ?? 1;
  const { B, T, H, K, V } = d;
  const o = alloc(B * T * H * V, dtype);
  const finalState = alloc(B * H * K * V, dtype);
  for (let b = 0; b < B; ++b) {
    for (let h = 0; h < H; ++h) {
      const states = forwardStates(d, a, scale, dtype, b, h, o);
      finalState.set(states[T]!, (b * H + h) * K * V);
    }
  }
  return { o, finalState };
}

/**
 * Gradients of L with ∂L/∂o = dO and ∂L/∂S_T = dST (either may be null = zero), by the backward recursion of
 * README.md §3, reading the stored S_{t-1} instead of reconstructing it.
 */
export function deltaRuleRefBackward(
  d: DeltaRuleDims, a: DeltaRuleArrays, dO: ArrayLike<number> | null, dST: ArrayLike<number> | null,
  opts: DeltaRuleRefOptions = {},
): DeltaRuleGrads {
  checkDims(d, a);
  const dtype = opts.dtype ?? 'float64';
  const scale = opts.scale ?? 1;
  const { B, T, H, K, V } = d;
  const KV = K * V;
  const g: DeltaRuleGrads = {
    dq: alloc(B * T * H * K, dtype), dk: alloc(B * T * H * K, dtype), dv: alloc(B * T * H * V, dtype),
    dbeta: alloc(B * T * H, dtype), ds0: alloc(B * H * KV, dtype),
  };
  const oScratch = alloc(B * T * H * V, dtype);
  const du = alloc(V, dtype), e = alloc(V, dtype);
  for (let b = 0; b < B; ++b) {
    for (let h = 0; h < H; ++h) {
      const states = forwardStates(d, a, scale, dtype, b, h, oScratch);
      const G = alloc(KV, dtype); // ∂L/∂S_t
      if (dST) for (let i = 0; i < KV; ++i) G[i] = dST[(b * H + h) * KV + i]!;
      for (let t = T - 1; t >= 0; --t) {
        const row = (b * T + t) * H + h;
        const qo = row * K, ko = row * K, vo = row * V;
        const beta = a.beta[row]!;
        const St = states[t + 1]!, Sp = states[t]!;
        // G += scale q_t do_tᵀ ; dq_t = scale S_t do_t
        if (dO) {
          for (let i = 0; i < K; ++i) {
            const sq = scale * a.q[qo + i]!;
            let acc = 0;
            for (let j = 0; j < V; ++j) {
              const dOj = dO[row * V + j]!;
              G[i * V + j] += sq * dOj;
              acc += St[i * V + j]! * dOj;
            }
            g.dq[qo + i] = scale * acc;
          }
        }
        // e_t = v_t − S_{t-1}ᵀ k_t ; the write is w_t = β e_t ; du = ∂L/∂w_t = Gᵀ k_t
        for (let j = 0; j < V; ++j) {
          let acc = 0, dacc = 0;
          for (let i = 0; i < K; ++i) {
            acc += Sp[i * V + j]! * a.k[ko + i]!;
            dacc += G[i * V + j]! * a.k[ko + i]!;
          }
          e[j] = a.v[vo + j]! - acc;
          du[j] = dacc;
        }
        let dbeta = 0;
        for (let j = 0; j < V; ++j) {
          dbeta += du[j]! * e[j]!;
          g.dv[vo + j] = beta * du[j]!;
        }
        g.dbeta[row] = dbeta;
        // dk_t = G w_t − β S_{t-1} du ; then G ← G − β k_t duᵀ  (= ∂L/∂S_{t-1})
        for (let i = 0; i < K; ++i) {
          let acc = 0;
          for (let j = 0; j < V; ++j) acc += G[i * V + j]! * beta * e[j]! - beta * Sp[i * V + j]! * du[j]!;
          g.dk[ko + i] = acc;
        }
        for (let i = 0; i < K; ++i) {
          const bk = beta * a.k[ko + i]!;
          for (let j = 0; j < V; ++j) G[i * V + j] -= bk * du[j]!;
        }
      }
      g.ds0.set(G, (b * H + h) * KV);
    }
  }
  return g;
}
