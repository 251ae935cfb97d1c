// lrnn's typed library entry point. The CLI (src/cli) is a thin layer over these.
export { initBackend, backendReport, native, nativeLoadError, f32, i32, fromF32 } from './backend/index.ts';
export type { BackendChoice, BackendOptions, BackendReport, NativeAddon } from './backend/index.ts';
export { softmaxCrossEntropy } from './kernels/cross_entropy/index.ts';
export * from './models/index.ts';
export * from './models/checkpoint.ts';
export { generate, sampleToken, type GenerateOptions } from './models/generate.ts';
export { readSafetensors, parseSafetensors, writeSafetensors, serializeSafetensors, SafetensorsError, type StTensor, type StFile } from './io/safetensors.ts';
export { prepareDataset, openTrainStream, openEvalStream, readManifest, type PrepareOptions, type PrepareReport, type TrainStream, type TrainStreamOptions, type TrainBatch, type LoaderCursor, type EvalStreamOptions, type DatasetManifest } from './data/index.ts';
export { loadTokenizer, tokenizerFromJson, trainBpe, ByteLevelBpe, type TextTokenizer } from './tokenizer/index.ts';
export * from './eval/index.ts';
