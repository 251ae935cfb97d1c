// Dev-only check (not run in CI): @xenova/transformers 2.17.2 gives the same ids as our encoder on a
// tokenizer.json written by `lrnn prepare`. Its install is 247 MB and needs the sharp override, so it lives
// outside the project:
//   mkdir -p /tmp/xen/models/mix && cd /tmp/xen
//   echo '{"name":"x","private":true,"type":"module","overrides":{"sharp":"0.33.5"}}' > package.json
//   npm install @xenova/transformers@2.17.2
//   cp <repo>/data/lrnn-mix/tokenizer*.json models/mix/
//   node --import <repo>/node_modules/tsx/dist/esm/index.mjs <repo>/scripts/xenova-check.mjs /tmp/xen
// Result on 2026-11-29: 21/21 samples (emoji, CJK, NUL, 0xFF-derived, special text, 15 validation documents
// of text/code/math; 127,713 tokens) identical ids; decode exact with clean_up_tokenization_spaces: false.
import { createRequire } from 'node:module';
import path from 'node:path';

const base = path.resolve(process.argv[2] ?? '.');
const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { env, AutoTokenizer } = await import(createRequire(path.join(base, 'x.js')).resolve('@xenova/transformers'));
env.allowRemoteModels = false;
env.localModelPath = path.join(base, 'models/');
const xt = await AutoTokenizer.from_pretrained('mix');
const { loadTokenizer } = await import(path.join(repo, 'src/tokenizer/tokenizer_json.ts'));
const { readTextShard } = await import(path.join(repo, 'src/data/shards.ts'));
const ours = loadTokenizer(path.join(base, 'models/mix/tokenizer.json'));
const samples = ['emoji 😀👍🏽 👨‍👩‍👧‍👦', 'CJK 日本語 中文', 'NUL \u0000 x', 'ÿþAÿ', "it's we've  \n\n\t x", '<|endoftext|> mid <|endoftext|>'];
for (const d of ['text', 'code', 'math']) {
  let n = 0;
  for await (const r of readTextShard(path.join(repo, `data/lrnn-mix/${d}/validation-00000.arrows`))) {
    samples.push(r.text);
    if (++n >= 5) break;
  }
}
let same = 0, tokens = 0;
for (const s of samples) {
  const a = ours.encode(s), b = xt.encode(s, null, { add_special_tokens: false });
  if (JSON.stringify(a) === JSON.stringify(b)) same++;
  else console.log('DIFF', JSON.stringify(s.slice(0, 60)));
  if (xt.decode(b, { clean_up_tokenization_spaces: false }) !== s) console.log('decode differs', JSON.stringify(s.slice(0, 40)));
  tokens += a.length;
}
console.log(`@xenova/transformers: ${same}/${samples.length} samples identical ids (${tokens} tokens)`);
process.exit(same === samples.length ? 0 : 1);
