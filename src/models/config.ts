// A model configuration of either architecture (config.json, docs/checkpoint-format.md §3 and §6): the union
// type and what dispatches on model_type or a recipe's model.arch. Each architecture's schema, defaults,
// checks, parsing and tensor table are in its own module (deltanet/config.ts, mamba/config.ts); the named
// sizes in sizes.ts. The path is one way: recipe [model] or config.json → that module's make*Config, which
// fills the defaults and checks the result once.
import type { ModelConfig as RecipeModel } from '../config/schema.ts';
import type { ParamSpec } from './config_fields.ts';
import { type DeltaNetConfig, deltaNetConfigFromRecipe, deltaNetParamSpecs, parseDeltaNetConfig } from './deltanet/config.ts';
import { type MambaConfig, mambaConfigFromRecipe, mambaParamSpecs, parseMambaConfig } from './mamba/config.ts';

export type { ParamSpec } from './config_fields.ts';
export type { ModelKind } from './sizes.ts';

export type ModelConfig = DeltaNetConfig | MambaConfig;

/** Validates a parsed config.json (unknown keys are ignored, per the spec) and fills optional defaults. */
export function parseConfig(raw: unknown, file = 'config.json'): ModelConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${file}: not a JSON object`);
  const o = raw as Record<string, unknown>;
  if (o.model_type === 'delta_net') return parseDeltaNetConfig(o, file);
  if (o.model_type === 'mamba') return parseMambaConfig(o, file);
  throw new Error(`${file}: key 'model_type': expected "delta_net" or "mamba", got ${JSON.stringify(o.model_type)}`);
}

/**
 * The config.json of a recipe's [model]: the named size's shape, then every override the recipe gives (same
 * names as config.json), then the derived fields. `vocabSize` is the tokenizer's (the recipe's
 * model.vocab_size wins when given). Errors name the recipe key (`model.num_heads: …`).
 */
export function modelConfigFromRecipe(m: RecipeModel, vocabSize?: number): ModelConfig {
  return m.arch === 'deltanet' ? deltaNetConfigFromRecipe(m, vocabSize) : mambaConfigFromRecipe(m, vocabSize);
}

/** The tensors stored in model.safetensors for this config, in the spec's table order (§4, §7). */
export function paramSpecs(c: ModelConfig): ParamSpec[] {
  return c.model_type === 'delta_net' ? deltaNetParamSpecs(c) : mambaParamSpecs(c);
}

/** The recommended no-weight-decay set (§12): tensors with fewer than 2 dims, plus every A_log. */
export function noWeightDecay(c: ModelConfig): string[] {
  return paramSpecs(c).filter((p) => p.shape.length < 2 || p.name.endsWith('.A_log')).map((p) => p.name);
}
