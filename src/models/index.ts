// Building models: from a config and host weights, or freshly initialised.
import type { ModelConfig } from './config.ts';
import { DeltaNetLM } from './delta_net_lm.ts';
import { initWeights } from './init.ts';
import type { CausalLM, HostTensor } from './lm.ts';
import { MambaLM } from './mamba_lm.ts';

export * from './config.ts';
export * from './deltanet/config.ts';
export * from './mamba/config.ts';
export { MODEL_SIZES, type SizeEntry } from './sizes.ts';
export { CausalLM, disposeState, type DecodeState, type ForwardOptions, type HostTensor, type LayerStats } from './lm.ts';
export { DeltaNetLM } from './delta_net_lm.ts';
export { MambaLM } from './mamba_lm.ts';
export { initWeights } from './init.ts';

export function buildModel(config: ModelConfig, weights: Map<string, HostTensor>): CausalLM {
  return config.model_type === 'delta_net' ? new DeltaNetLM(config, weights) : new MambaLM(config, weights);
}

export function initModel(config: ModelConfig, seed = 0): CausalLM {
  return buildModel(config, initWeights(config, seed));
}
