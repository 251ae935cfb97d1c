// config.json text with the types the reference configs declare. A JS number has no int/float distinction,
// so JSON.stringify writes 1.0 as `1`; transformers 5.x validates MambaConfig field types strictly and
// refuses `"time_step_scale": 1` ("expected float, got int"). Keys the reference classes declare as float
// are therefore written as float literals (`1.0`), at any depth and inside arrays; every other number is
// written as JSON.stringify writes it. Layout is JSON.stringify(value, null, 2), so JSON.parse gives the
// same values back.
// Test: node scripts/test.mjs src/models/config_json

/** transformers' MambaConfig fields typed `float` (transformers/models/mamba/configuration_mamba.py). */
export const MAMBA_FLOAT_KEYS: readonly string[] = [
  'layer_norm_epsilon', 'initializer_range', 'time_step_scale', 'time_step_min', 'time_step_max', 'time_step_floor',
];

/** fla's DeltaNetConfig arguments typed `float` (fla/models/delta_net/configuration_delta_net.py). */
export const DELTANET_FLOAT_KEYS: readonly string[] = ['expand_k', 'expand_v', 'norm_eps', 'initializer_range'];

/** Float-typed keys per config.json model_type. */
export const FLOAT_KEYS: Readonly<Record<string, readonly string[]>> = {
  mamba: MAMBA_FLOAT_KEYS,
  delta_net: DELTANET_FLOAT_KEYS,
};

/** A finite number as a JSON float literal: `1` → `1.0`; `0.001`, `1e-7`, `1e+21` already read as floats. */
export function floatLiteral(v: number): string {
  const s = JSON.stringify(v); // 'null' for NaN/±Infinity, as JSON.stringify writes them everywhere
  return Number.isFinite(v) && /^-?\d+$/.test(s) ? `${s}.0` : s;
}

/**
 * JSON text of `value` laid out as JSON.stringify(value, null, indent), with every number under a key in
 * `floatKeys` (the value itself, or any number nested in it) written as a float literal.
 */
export function jsonWithFloats(value: unknown, floatKeys: Iterable<string>, indent = 2): string {
  const keys = new Set(floatKeys);
  const pad = ' '.repeat(indent);
  const write = (v: unknown, asFloat: boolean, at: string): string | undefined => {
    if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') v = (v as { toJSON: () => unknown }).toJSON();
    if (typeof v === 'number') return asFloat ? floatLiteral(v) : JSON.stringify(v);
    if (v === null || typeof v !== 'object') return JSON.stringify(v); // undefined/functions → undefined, as JSON.stringify
    const inner = at + pad;
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      const items = v.map((x) => write(x, asFloat, inner) ?? 'null');
      return indent > 0 ? `[\n${inner}${items.join(`,\n${inner}`)}\n${at}]` : `[${items.join(',')}]`;
    }
    const items: string[] = [];
    for (const [k, x] of Object.entries(v)) {
      const s = write(x, asFloat || keys.has(k), inner);
      if (s !== undefined) items.push(`${JSON.stringify(k)}:${indent > 0 ? ' ' : ''}${s}`);
    }
    if (items.length === 0) return '{}';
    return indent > 0 ? `{\n${inner}${items.join(`,\n${inner}`)}\n${at}}` : `{${items.join(',')}}`;
  };
  return write(value, false, '') ?? 'null';
}

/** config.json text (with a final newline) of a model config: its model_type's float keys as float literals. */
export function configJsonText(config: { model_type: string }, floatKeys: readonly string[] = FLOAT_KEYS[config.model_type] ?? []): string {
  return jsonWithFloats(config, floatKeys) + '\n';
}
