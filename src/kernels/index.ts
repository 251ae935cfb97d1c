// The fused kernels, each a TF.js op with its gradient (one folder per op: reference, variants, tests, README).
export { selectiveScan, type SelectiveScanOptions, type SelectiveScanVariant } from './selective_scan/index.ts';
export { causalConv1d, causalConv1dState, type CausalConv1dOptions, type CausalConv1dVariant } from './causal_conv1d/index.ts';
export { deltaRule, resolveDeltaRuleVariant, type DeltaRuleOptions, type DeltaRuleVariant } from './delta_rule/index.ts';
export { rmsNormFused, l2NormFused } from './norm/index.ts';
export { swigluGate } from './swiglu/index.ts';
export { linearCrossEntropy, type LinearCrossEntropyOptions, type LinearCrossEntropyVariant } from './cross_entropy/linear.ts';
