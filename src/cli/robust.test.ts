// Bad input and interrupted work, as a user meets them on the command line: everything checkable is refused
// before the first step with exit 2 naming the key or path and nothing written; a run that died before its
// first checkpoint is replaced by a plain re-run; temp folders of interrupted saves are cleaned and a damaged
// newest checkpoint is set aside on resume (which still reproduces the unbroken run); corrupt checkpoints
// and shards exit 2 naming the file; generate takes run folders and empty prompts; task eval refuses an LM.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, test } from 'node:test';
import { prepareTinyDataset } from '../data/fixtures/tiny_corpus.ts';
import { readMetrics, type StepRecord } from '../log/metrics.ts';
import { namingFile } from '../models/checkpoint.ts';

const BIN = path.resolve('bin/lrnn.js');
const lrnn = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
let ds: string;
let root: string;
const common = () => [`--data.dir=${ds}`, '--data.domains=["prose","more"]', '--data.weights=[1,1]', '--eval.splits=["prose"]', '--eval.batches=1',
  '--data.seq_len=16', '--log.progress=false'];
const stepsOf = (runDir: string) => readMetrics(path.join(runDir, 'metrics.jsonl')).filter((r): r is StepRecord => r.kind === 'step');

before(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'lrnn-robust-'));
  ds = await prepareTinyDataset(path.join(root, 'ds'));
});

test('checked before the first step: exit 2 naming the key or path, nothing written', () => {
  const out = path.join(root, 'never');
  const file = path.join(root, 'a-file');
  writeFileSync(file, '');
  const cases: [string[], RegExp][] = [
    [['--model.vocab_size=100'], /model\.vocab_size: 100 is smaller than the tokenizer's vocabulary of \d+/],
    [['--model.vocab_size=100000000'], /model\.vocab_size=100000000: .* parameters need about \d+ GB .* more than this machine's/],
    [['--model.hidden_size=7'], /model\.hidden_size \/ model\.num_heads: .*does not divide hidden_size 7/],
    [[`--out_dir=${path.join(file, 'sub')}`], /out_dir: cannot create .*a-file is a file, not a folder/],
    [[`--data.dir=${path.join(root, 'no-such-data')}`], /data\.dir: '.*no-such-data' has no manifest\.json .*run 'lrnn prepare --out/],
  ];
  for (const [extra, re] of cases) {
    const r = lrnn(['train', 'tiny', `--out_dir=${out}`, ...common(), ...extra]);
    assert.equal(r.status, 2, `${extra}: exit ${r.status}\n${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(existsSync(out), false, `${extra} wrote ${out}`);
  }
  assert.equal(existsSync(path.join(root, 'no-such-data')), false, 'a missing data.dir was created (prepared?)');
  const init = lrnn(['init', '--model', 'deltanet', '--size', 'tiny', '--out', path.join(file, 'ck')]);
  assert.equal(init.status, 2, init.stderr);
  assert.match(init.stderr, /--out .*a-file\/ck: cannot write there/);
});

// Root writes anywhere, so under root (CI) the run is made as an unprivileged user, who needs to read the
// checkout and the dataset (.ci/run keeps its copy's folder world-readable for this).
const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
const userCanRun = () => spawnSync(process.execPath, [BIN, '--help'], asUser).status === 0;

test('a read-only out_dir: exit 2 naming it, permission denied (not ENOENT)', { skip: process.getuid?.() === 0 && !userCanRun() && 'running as root in a folder an unprivileged user cannot read' }, () => {
  chmodSync(root, 0o755);
  const ro = path.join(root, 'read-only');
  mkdirSync(ro, { mode: 0o555 });
  const r = spawnSync(process.execPath, [BIN, 'train', 'tiny', `--out_dir=${ro}`, ...common()], { encoding: 'utf8', ...asUser });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /out_dir: cannot write to .*read-only.*permission denied/);
  assert.deepEqual(readdirSync(ro), []);
});

test('a system error while saving names the file (ENOSPC on /dev/full)', { skip: !existsSync('/dev/full') && 'no /dev/full' }, () => {
  assert.throws(() => namingFile('/dev/full', () => writeFileSync('/dev/full', 'x')), (e: Error) => /^\/dev\/full: ENOSPC/.test(e.message));
});

test('a run killed before its first checkpoint: --resume says so (exit 2), a plain re-run starts it over', async () => {
  const out = path.join(root, 'dead');
  const runDir = path.join(out, 'tiny');
  const args = ['train', 'tiny', `--out_dir=${out}`, ...common(), '--train.steps=2000', '--checkpoint.every=0'];
  const child = spawn(process.execPath, [BIN, ...args], { stdio: 'ignore' });
  const exited = new Promise((r) => child.on('exit', r));
  while (!(existsSync(path.join(runDir, 'metrics.jsonl')) && readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').includes('"step":3,'))) await new Promise((r) => setTimeout(r, 10));
  child.kill('SIGKILL');
  await exited;
  assert.deepEqual(readdirSync(runDir).filter((n) => n.startsWith('checkpoint')), []);
  const res = lrnn(['train', '--resume', runDir]);
  assert.equal(res.status, 2, res.stderr);
  assert.match(res.stderr, /no checkpoint-<step> folder to resume from/);
  const again = lrnn(['train', 'tiny', `--out_dir=${out}`, ...common(), '--train.steps=5']);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /holds no intact checkpoint .*starting the run over/);
  assert.deepEqual(stepsOf(runDir).map((s) => s.step), [1, 2, 3, 4, 5]);
  const log = readFileSync(path.join(runDir, 'train.log'), 'utf8');
  assert.equal((log.match(/"msg":"starting"/g) ?? []).length, 1, 'the old train.log was not replaced');
});

test('resume cleans temp folders, restores a best checkpoint caught mid-swap, skips a damaged newest checkpoint, and still equals the unbroken run', () => {
  const out = path.join(root, 'resume');
  // A constant schedule: the 9-step run continued to 12 follows the 12-step run (cosine depends on the total).
  const base = ['train', 'tiny', `--out_dir=${out}`, ...common(), '--checkpoint.every=3', '--checkpoint.keep_last=3', '--train.schedule=constant'];
  assert.equal(lrnn([...base, '--name=full', '--train.steps=12']).status, 0);
  const r1 = lrnn([...base, '--name=cut', '--train.steps=9']);
  assert.equal(r1.status, 0, r1.stderr);
  const runDir = path.join(out, 'cut');
  // What kills leave behind: a half-written save, a prune caught mid-delete, a best checkpoint moved aside.
  mkdirSync(path.join(runDir, '.tmp-checkpoint-12-999-1'));
  cpSync(path.join(runDir, 'checkpoint-3'), path.join(runDir, '.tmp-pruned-checkpoint-3-999-2'), { recursive: true });
  cpSync(path.join(runDir, 'checkpoint-6'), path.join(runDir, '.tmp-old-checkpoint-best-999-3'), { recursive: true });
  truncateSync(path.join(runDir, 'checkpoint-9', 'model.safetensors'), 1000);
  const res = lrnn(['train', '--resume', runDir, '--train.steps=12']);
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stderr, /checkpoint .*checkpoint-9 is damaged \(.*model\.safetensors: truncated.*moved it to checkpoint-9\.damaged/);
  assert.match(res.stderr, /resuming from .*checkpoint-6, the newest intact checkpoint/);
  const names = readdirSync(runDir);
  assert.deepEqual(names.filter((n) => n.startsWith('.tmp-')), []);
  assert.ok(names.includes('checkpoint-best') && names.includes('checkpoint-9.damaged') && names.includes('checkpoint-12'), names.join(' '));
  const a = stepsOf(runDir), b = stepsOf(path.join(out, 'full'));
  assert.deepEqual(a.map((s) => s.step), b.map((s) => s.step));
  a.forEach((s, i) => assert.equal(s.loss, b[i]!.loss, `step ${s.step}`));
});

test('corrupt files exit 2 naming the file: a checkpoint in eval and generate, a truncated shard in train', () => {
  const out = path.join(root, 'corrupt');
  assert.equal(lrnn(['train', 'tiny', `--out_dir=${out}`, ...common(), '--train.steps=3']).status, 0);
  const ck = path.join(out, 'tiny', 'checkpoint-3');
  truncateSync(path.join(ck, 'model.safetensors'), 500);
  for (const args of [['eval', '--checkpoint', ck, '--data', path.join(ds, '..', 'in-prose')], ['generate', '--checkpoint', ck, '--prompt', 'the']]) {
    const r = lrnn(args);
    assert.equal(r.status, 2, `${args[0]}: ${r.stderr}`);
    assert.match(r.stderr, /checkpoint-3\/model\.safetensors: .*truncated/);
  }
  const bad = path.join(root, 'ds-truncated');
  cpSync(ds, bad, { recursive: true });
  for (const d of ['prose', 'more']) for (const f of readdirSync(path.join(bad, d)).filter((n) => /^train-.*tokens/.test(n))) truncateSync(path.join(bad, d, f), 900);
  const r = lrnn(['train', 'tiny', `--out_dir=${path.join(root, 'trunc')}`, ...common(), `--data.dir=${bad}`]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /train-\d+\.tokens\.arrows: 900 bytes, the manifest says \d+; the dataset is damaged — re-run 'lrnn prepare --out /);
  assert.equal(existsSync(path.join(root, 'trunc')), false, 'a run folder was written for a damaged dataset');
});

test('a shard overwritten in place (same size): eval refuses it by sha256, train --verify too; re-running prepare repairs it', async () => {
  const out = path.join(root, 'inplace');
  assert.equal(lrnn(['train', 'tiny', `--out_dir=${out}`, ...common(), '--train.steps=3']).status, 0);
  const work = path.join(root, 'inplace-ds');
  const bad = path.join(work, 'ds');
  cpSync(path.dirname(ds), work, { recursive: true });
  const pick = (split: string) => {
    const f = readdirSync(path.join(bad, 'prose')).find((n) => n.startsWith(`${split}-`) && n.includes('tokens'))!;
    const p = path.join(bad, 'prose', f);
    const buf = readFileSync(p);
    buf[buf.length >> 1] ^= 0x01; // one bit in the middle of the body: the size stays, the content does not
    writeFileSync(p, buf);
    return f;
  };
  const testShard = pick('test');
  const ev = lrnn(['eval', '--checkpoint', path.join(out, 'tiny'), '--data-dir', bad, '--splits', 'prose', '--out', path.join(root, 'inplace.json')]);
  assert.equal(ev.status, 2, ev.stderr);
  assert.match(ev.stderr, new RegExp(`prose/${testShard.replace(/\./g, '\\.')}: sha256 [0-9a-f]{12}…, the manifest says [0-9a-f]{12}…; the dataset is damaged — re-run 'lrnn prepare`));
  assert.equal(existsSync(path.join(root, 'inplace.json')), false);
  const trainShard = pick('train');
  const tr = lrnn(['train', 'tiny', `--out_dir=${path.join(root, 'inplace-run')}`, ...common(), `--data.dir=${bad}`, '--verify', '--train.steps=3']);
  assert.equal(tr.status, 2, tr.stderr);
  assert.match(tr.stderr, new RegExp(`prose/${trainShard.replace(/\./g, '\\.')}: sha256 .*re-run 'lrnn prepare`));
  // The advice holds: prepare with the same inputs rebuilds the shards whose checksum fails.
  const { prepareTinyDataset } = await import('../data/fixtures/tiny_corpus.ts');
  await prepareTinyDataset(work);
  const again = lrnn(['eval', '--checkpoint', path.join(out, 'tiny'), '--data-dir', bad, '--splits', 'prose', '--out', path.join(root, 'inplace.json')]);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(lrnn(['train', 'tiny', `--out_dir=${path.join(root, 'inplace-run')}`, ...common(), `--data.dir=${bad}`, '--verify', '--train.steps=3']).status, 0);
});

test('eos/bos from the tokenizer in config.json; generate takes a run folder and an empty prompt; task eval refuses an LM checkpoint', () => {
  const out = path.join(root, 'gen');
  assert.equal(lrnn(['train', 'tiny', `--out_dir=${out}`, ...common(), '--train.steps=3']).status, 0);
  const runDir = path.join(out, 'tiny');
  const cfg = JSON.parse(readFileSync(path.join(runDir, 'checkpoint-3', 'config.json'), 'utf8'));
  const tok = JSON.parse(readFileSync(path.join(runDir, 'checkpoint-3', 'tokenizer.json'), 'utf8'));
  const eot = tok.added_tokens.find((t: { content: string }) => t.content === '<|endoftext|>').id;
  assert.equal(cfg.eos_token_id, eot);
  assert.equal(cfg.bos_token_id, eot);
  const g = lrnn(['generate', '--checkpoint', runDir, '--prompt', '', '--max-new-tokens', '5', '--json']);
  assert.equal(g.status, 0, g.stderr);
  const j = JSON.parse(g.stdout);
  assert.deepEqual(j.prompt_ids, [eot]);
  assert.ok(j.ids.length >= 1 && j.ids.length <= 5);
  const t = lrnn(['task', 'eval', '--checkpoint', runDir + '/checkpoint-3', '--task', 'parity']);
  assert.equal(t.status, 2, t.stderr);
  assert.match(t.stderr, /no task\.json there, so not a checkpoint of 'lrnn task train'/);
  const h = lrnn(['task', '--help']);
  assert.equal(h.status, 0, h.stderr);
  assert.match(h.stdout, /task train .*\n.*task eval/);
});

test('eval does not suggest a --skip-bad it lacks', () => {
  const out = path.join(root, 'skipbad');
  assert.equal(lrnn(['train', 'tiny', `--out_dir=${out}`, ...common(), '--train.steps=3']).status, 0);
  const bad = path.join(root, 'latin1.txt');
  writeFileSync(bad, Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
  const r = lrnn(['eval', '--checkpoint', path.join(out, 'tiny'), '--data', bad]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /latin1\.txt: not valid UTF-8/);
  assert.match(r.stderr, /lrnn eval has no --skip-bad/);
  assert.doesNotMatch(r.stderr, /or pass --skip-bad/);
  assert.match(lrnn(['eval', '--skip-bad']).stderr, /Unknown option '--skip-bad'/);
});

test('a run that fails in the loop: train.log ends with status "failed" and the cause, never "completed"', async () => {
  const { initBackend } = await import('../backend/index.ts');
  const { loadConfig } = await import('../config/load.ts');
  const { createLogger } = await import('../log/logger.ts');
  const { modelConfigFromRecipe } = await import('../models/config.ts');
  const { TokenArraySource } = await import('../train/sources.ts');
  const { train } = await import('../train/trainer.ts');
  await initBackend({ warn: () => {} });
  const runDir = path.join(root, 'fails');
  const { config } = loadConfig('tiny', [`--out_dir=${root}`, '--name=fails']);
  const inner = new TokenArraySource(Int32Array.from({ length: 5000 }, (_, i) => i % 50), config.train.batch_size, config.data.seq_len);
  let calls = 0;
  const data = { next: async () => { if (++calls === 3) throw new Error('shard x.tokens.arrows: read error'); return inner.next(); }, cursor: () => inner.cursor() };
  const { log } = createLogger({ file: path.join(runDir, 'train.log'), terminal: false });
  await assert.rejects(train({ config, runDir, modelConfig: modelConfigFromRecipe(config.model), data, log }), /read error/);
  const lines = readFileSync(path.join(runDir, 'train.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const done = lines.filter((l) => l.msg === 'done').at(-1);
  assert.equal(done.status, 'failed');
  assert.ok(lines.some((l) => l.level === 50 && /failed at step 3: shard x\.tokens\.arrows: read error/.test(l.msg)), JSON.stringify(lines.map((l) => l.msg)));
});

test('an invalid config.json in the only checkpoint: --resume exits 2 naming it; a plain re-run starts over and keeps it aside', () => {
  const out = path.join(root, 'badcfg');
  const args = ['train', 'tiny', `--out_dir=${out}`, ...common(), '--train.steps=3'];
  assert.equal(lrnn(args).status, 0);
  const runDir = path.join(out, 'tiny');
  writeFileSync(path.join(runDir, 'checkpoint-3', 'config.json'), '{"model_type": ');
  const res = lrnn(['train', '--resume', runDir]);
  assert.equal(res.status, 2, res.stderr);
  assert.match(res.stderr, /checkpoint-3\/config\.json: invalid JSON/);
  assert.match(res.stderr, /run the recipe again without --resume/);
  const again = lrnn(args);
  assert.equal(again.status, 0, again.stderr);
  assert.ok(existsSync(path.join(runDir, 'checkpoint-3.damaged', 'config.json')) && existsSync(path.join(runDir, 'checkpoint-3', 'config.json')));
});

test('free disk for one checkpoint is checked up front', async () => {
  const { checkRunDir, checkpointBytes } = await import('./preflight.ts');
  const dir = path.join(root, 'disk', 'run');
  assert.throws(() => checkRunDir(dir, checkpointBytes(1e8), 2 ** 30), /out_dir: .*disk\/run has 1\.0 GB free, one checkpoint needs about 1\.1 GB/);
  assert.doesNotThrow(() => checkRunDir(dir, checkpointBytes(1e6), 2 ** 30));
});
