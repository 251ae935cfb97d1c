// Learning-rate schedules: warm-up, cosine, constant and WSD at their defining points.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeSchedule, lrAt, type ScheduleOptions } from './schedule.ts';

const close = (a: number, b: number, msg?: string) => assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)), `${msg ?? ''} ${a} != ${b}`);

test('cosine: linear warm-up to the peak, half way at the midpoint, min_lr at the end and after', () => {
  const o: ScheduleOptions = { type: 'cosine', lr: 1e-3, minLr: 1e-4, warmup: 10, total: 110 };
  close(lrAt(1, o), 1e-4);
  close(lrAt(5, o), 5e-4);
  close(lrAt(10, o), 1e-3);
  close(lrAt(60, o), (1e-3 + 1e-4) / 2, 'midpoint');
  close(lrAt(110, o), 1e-4);
  close(lrAt(500, o), 1e-4);
  for (let s = 11; s < 110; ++s) assert.ok(lrAt(s + 1, o) < lrAt(s, o), `not decreasing at ${s}`);
});

test('constant and no warm-up', () => {
  const o: ScheduleOptions = { type: 'constant', lr: 3e-4, minLr: 0, warmup: 0, total: 100 };
  for (const s of [1, 50, 100, 1000]) close(lrAt(s, o), 3e-4);
  assert.throws(() => lrAt(0, o), /1-based/);
});

test('wsd: warm-up, stable, then linear decay to min_lr over decay_frac of the run', () => {
  const o: ScheduleOptions = { type: 'wsd', lr: 1e-3, minLr: 0, warmup: 10, total: 100, decayFrac: 0.2 };
  close(lrAt(10, o), 1e-3);
  close(lrAt(80, o), 1e-3);
  close(lrAt(90, o), 5e-4);
  close(lrAt(100, o), 0);
  assert.deepEqual(describeSchedule(o), { type: 'wsd', peak_lr: 1e-3, min_lr: 0, warmup_steps: 10, total_steps: 100, decay_frac: 0.2 });
});
