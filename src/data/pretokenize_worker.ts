// Worker-thread entry of the tokenizer pool (pretokenize.ts): runs jobs one at a time, replies with the result.
import { parentPort } from 'node:worker_threads';
import { runJob, type TokenizeJob } from './pretokenize.ts';

parentPort!.on('message', (m: { id: number; job: TokenizeJob }) => {
  runJob(m.job).then(
    (result) => parentPort!.postMessage({ id: m.id, ok: true, result }),
    (err: Error) => parentPort!.postMessage({ id: m.id, ok: false, error: err.message }),
  );
});
