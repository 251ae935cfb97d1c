// The one place the layers get their recurrent kernels from (delta rule, selective scan, causal conv1d),
// so a layer file never depends on which kernel module provides them. The TF.js-op loops in
// src/testing/ref_kernels.ts are the tests' independent oracle.
export { deltaRule } from '../kernels/delta_rule/index.ts';
export { selectiveScan } from '../kernels/selective_scan/index.ts';
export { causalConv1d } from '../kernels/causal_conv1d/index.ts';
// The allow_neg_eigval map of the transitions (Mamba's Ā, DeltaNet's β), written once beside the kernels.
export { deltaNetBeta, mambaDecay, mambaNegativeBelow } from '../kernels/eig.ts';
