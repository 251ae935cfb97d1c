// Public tokenizer API: load any HF tokenizer.json (fast path for GPT-2 byte-level BPE), train our own.
export { ByteLevelBpe, type TextTokenizer, type SpecialToken } from './bpe.ts';
export { loadTokenizer, tokenizerFromJson, byteLevelTokenizerJson, tokenizerConfigJson } from './tokenizer_json.ts';
export { trainBpe, trainBpeOnTexts, WordCounter, type TrainOptions, type TrainedBpe } from './trainer.ts';
