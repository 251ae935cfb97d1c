// Worker-thread entry: pre-tokenises one text shard into a token shard (see pretokenize.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { pretokenizeShard, type PretokenizeJob } from './pretokenize.ts';

const job = workerData as PretokenizeJob;
pretokenizeShard(job).then(
  (info) => parentPort!.postMessage({ ok: true, info }),
  (err: Error) => parentPort!.postMessage({ ok: false, error: err.message }),
);
