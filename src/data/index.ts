// Public data API: preparing datasets, the streaming train loader and the eval reader.
export { prepareDataset, type PrepareOptions, type PrepareReport } from './prepare.ts';
export { openTrainStream, openEvalStream, type TrainStream, type TrainStreamOptions, type TrainBatch, type LoaderCursor, type EvalStreamOptions } from './loader.ts';
export { readManifest, type DatasetManifest } from './manifest.ts';
export { checkShardSizes, DatasetIntegrityError, shardsOf, verifyShardHashes } from './verify.ts';
export { DEFAULT_SOURCES, type SourceSpec } from './sources.ts';
export { splitOf, stableUnit, type Split } from './split.ts';
