// lrnn's typed library entry point. The CLI (src/cli) is a thin layer over these.
export { initBackend, backendReport, native, nativeLoadError, f32, i32, fromF32 } from './backend/index.ts';
export type { BackendChoice, BackendOptions, BackendReport, NativeAddon } from './backend/index.ts';
export { softmaxCrossEntropy } from './kernels/cross_entropy/index.ts';
