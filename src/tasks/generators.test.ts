// The task generators against independent checks: a recursive-descent mod-5 evaluator with precedence and
// unary minus (exact BigInt arithmetic, written apart from the generators' running sums), direct
// permutation composition for S5, masks, one supervised token, length histograms and determinism.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IGNORE, STREAMS, TASKS, collate, exampleFromSymbols, getTask, makeExample, makeExamples, scaledAccuracy, trainExamples, type Task } from './index.ts';
import { S5_ELEMENTS } from './s5.ts';

/** Evaluates a token list of digits, + - *, brackets and unary minus; returns the exact integer value. */
function evaluate(tokens: readonly string[]): bigint {
  let i = 0;
  const peek = () => tokens[i];
  const expr = (): bigint => {
    let v = term();
    while (peek() === '+' || peek() === '-') {
      const op = tokens[i++];
      const r = term();
      v = op === '+' ? v + r : v - r;
    }
    return v;
  };
  const term = (): bigint => {
    let v = factor();
    while (peek() === '*') {
      i++;
      v *= factor();
    }
    return v;
  };
  const factor = (): bigint => {
    const t = tokens[i++];
    if (t === '-') return -factor();
    if (t === '(') {
      const v = expr();
      assert.equal(tokens[i++], ')', `unbalanced expression ${tokens.join('')}`);
      return v;
    }
    assert.match(t ?? '', /^[0-4]$/, `expected a digit at ${i - 1} in ${tokens.join('')}`);
    return BigInt(t!);
  };
  const v = expr();
  assert.equal(i, tokens.length, `trailing tokens in ${tokens.join('')}`);
  return v;
}
const mod5 = (v: bigint) => Number(((v % 5n) + 5n) % 5n);

test('the evaluator agrees with the paper examples', () => {
  assert.equal(mod5(evaluate('2-3-3*2'.split(''))), 3);
  assert.equal(mod5(evaluate('(((3+3)+-1)+-2)-((3-(-3))+((1+4)))'.split(''))), 2);
  assert.equal(mod5(evaluate('1+2*3*4-4'.split(''))), mod5(1n + 24n - 4n));
});

function checkAnswerTask(task: Task, min: number, max: number, n: number, seed: number) {
  const lengths = new Map<number, number>();
  for (let i = 0; i < n; ++i) {
    const e = makeExample(task, seed, STREAMS.train, i, min, max);
    lengths.set(e.length, (lengths.get(e.length) ?? 0) + 1);
    assert.equal(e.tokens.length, e.length);
    // Exactly one supervised position, right before the answer, and it holds the answer.
    const sup = [...e.labels.keys()].filter((t) => e.labels[t] !== IGNORE);
    assert.deepEqual(sup, [e.answerIndex - 1]);
    assert.equal(e.labels[e.answerIndex - 1], e.tokens[e.answerIndex]);
    assert.ok(task.answerIds.includes(e.tokens[e.answerIndex]!));
    // The answer is masked in the input (or cut off when it is the last token).
    if (e.answerIndex < e.input.length) assert.equal(e.input[e.answerIndex], task.maskId);
    for (let t = 0; t < e.input.length; ++t) if (t !== e.answerIndex) assert.equal(e.input[t], e.tokens[t]);
    assert.equal(e.input.length, e.length - 1);
  }
  return lengths;
}

test('parity: answer = parity of the 1 bits; lengths uniform over 3..40 and 40..256', () => {
  const task = TASKS.parity;
  const train = checkAnswerTask(task, 3, 40, 4000, 7);
  assert.deepEqual([...train.keys()].sort((a, b) => a - b), Array.from({ length: 38 }, (_, i) => 3 + i));
  for (const c of train.values()) assert.ok(c > 4000 / 38 / 2, `length histogram too uneven: ${[...train.values()]}`);
  const test_ = checkAnswerTask(task, 40, 256, 2000, 7);
  assert.equal(Math.min(...test_.keys()), 40);
  assert.equal(Math.max(...test_.keys()), 256);
  for (let i = 0; i < 500; ++i) {
    const e = makeExample(task, 3, STREAMS.test, i, 40, 256);
    const bits = task.vocab.decode(e.tokens.slice(0, e.length - 1));
    assert.ok(bits.every((b) => b === '0' || b === '1'));
    const ones = bits.filter((b) => b === '1').length;
    assert.equal(task.vocab.symbol(e.tokens[e.length - 1]!), String(ones % 2));
  }
});

test('modular without brackets: odd lengths, digits/ops alternate, answer = precedence-aware value mod 5', () => {
  const task = TASKS.modular;
  const train = checkAnswerTask(task, 3, 40, 3000, 11);
  assert.deepEqual([...train.keys()].sort((a, b) => a - b), Array.from({ length: 19 }, (_, i) => 3 + 2 * i));
  const test_ = checkAnswerTask(task, 40, 256, 500, 11);
  for (const l of test_.keys()) assert.ok(l % 2 === 1 && l >= 41 && l <= 255, `bad test length ${l}`);
  const answers = new Map<number, number>();
  for (let i = 0; i < 3000; ++i) {
    const e = makeExample(task, 5, STREAMS.test, i, 3, 256);
    const s = task.vocab.decode(e.tokens);
    const expr = s.slice(0, -2);
    expr.forEach((t, j) => assert.match(t, j % 2 === 0 ? /^[0-4]$/ : /^[-+*]$/));
    assert.equal(s[s.length - 2], '=');
    const want = mod5(evaluate(expr));
    assert.equal(Number(s[s.length - 1]), want, `${s.join(' ')}`);
    answers.set(want, (answers.get(want) ?? 0) + 1);
  }
  assert.equal(answers.size, 5); // every residue occurs
  // The operators are uniform and '*' really occurs.
  const ops = makeExamples(task, 1, STREAMS.train, 0, 200, 39, 39).flatMap((e) => task.vocab.decode(e.tokens).filter((t) => '+-*'.includes(t)));
  for (const op of ['+', '-', '*']) assert.ok(ops.filter((o) => o === op).length > ops.length / 4);
});

test('modular with brackets: the recursive expression has l−3 tokens and its bracket value is the answer', () => {
  for (const name of ['modular_brackets', 'modular_brackets_nomult'] as const) {
    const task = TASKS[name];
    const lengths = checkAnswerTask(task, 3, 40, 2000, 13);
    assert.equal(Math.min(...lengths.keys()), 5); // l = max(U, 5)
    assert.equal(Math.max(...lengths.keys()), 40);
    let sawTimes = false;
    for (let i = 0; i < 1500; ++i) {
      const e = makeExample(task, 2, STREAMS.test, i, 5, 256);
      const s = task.vocab.decode(e.tokens);
      assert.equal(s.length, e.length);
      assert.deepEqual(s.slice(-3, -2), ['=']);
      assert.equal(s[s.length - 1], '<pad>');
      const expr = s.slice(0, -3);
      assert.equal(expr.length, e.length - 3);
      if (expr.includes('*')) sawTimes = true;
      assert.equal(Number(s[s.length - 2]), mod5(evaluate(expr)), s.join(''));
      // The mask id is the dedicated one, not the digit 0.
      assert.equal(task.vocab.symbol(e.input[e.answerIndex]!), '<mask>');
    }
    assert.equal(sawTimes, name === 'modular_brackets');
  }
});

test('S5: prefix products by direct composition; swaps variant draws only transpositions', () => {
  for (const name of ['s5', 's5_swaps'] as const) {
    const task = TASKS[name];
    const seen = new Set<number>();
    for (let i = 0; i < 200; ++i) {
      const e = makeExample(task, 4, STREAMS.train, i, 3, 40);
      assert.equal(e.input.length, e.length);
      let state = [0, 1, 2, 3, 4];
      for (let t = 0; t < e.length; ++t) {
        const x = task.vocab.symbol(e.input[t]!).split('').map(Number);
        const moved = x.filter((v, j) => v !== j).length;
        if (name === 's5_swaps') assert.ok(moved === 0 || moved === 2, `not a swap: ${x}`);
        seen.add(e.input[t]!);
        state = state.map((v) => x[v]!); // apply x after the product so far
        assert.equal(task.vocab.symbol(e.labels[t]!), state.join(''));
      }
    }
    assert.equal(seen.size, name === 's5' ? 120 : 11);
  }
  assert.equal(S5_ELEMENTS[0]!.join(''), '01234');
});

test('examples are a pure function of (seed, stream, index)', () => {
  for (const task of Object.values(TASKS)) {
    const a = makeExample(task, 42, STREAMS.train, 123456789, 3, 40);
    const b = makeExample(task, 42, STREAMS.train, 123456789, 3, 40);
    assert.deepEqual(a, b);
    const others = [makeExample(task, 43, STREAMS.train, 123456789, 3, 40), makeExample(task, 42, STREAMS.test, 123456789, 3, 40), makeExample(task, 42, STREAMS.train, 123456790, 3, 40)];
    assert.ok(others.some((o) => o.tokens.join() !== a.tokens.join()));
  }
});

test("linear length weighting: P(l) ∝ l over the task's own lengths, deterministic, bucketing unchanged", () => {
  const task = TASKS.modular;
  const n = 40000;
  const ex = makeExamples(task, 7, STREAMS.train, 0, n, 3, 40, 'linear');
  const counts = new Map<number, number>();
  for (const e of ex) counts.set(e.length, (counts.get(e.length) ?? 0) + 1);
  const lengths = Array.from({ length: 19 }, (_, i) => 3 + 2 * i);
  assert.deepEqual([...counts.keys()].sort((a, b) => a - b), lengths); // still odd, still 3..39
  const total = lengths.reduce((a, l) => a + l, 0);
  for (const l of lengths) {
    const want = (n * l) / total;
    const got = counts.get(l)!;
    // 5 binomial standard deviations around the expected count.
    assert.ok(Math.abs(got - want) < 5 * Math.sqrt(want), `length ${l}: ${got} examples, expected ≈ ${want.toFixed(0)}`);
  }
  // Every example is still a pure function of (seed, stream, index, range, weighting), with a right answer.
  assert.deepEqual(makeExample(task, 7, STREAMS.train, 123, 3, 40, 'linear'), ex[123]);
  for (const e of ex.slice(0, 500)) {
    const s = task.vocab.decode(e.tokens);
    assert.equal(Number(s[s.length - 1]), mod5(evaluate(s.slice(0, -2))));
  }
  // The default stays the paper's uniform draw, and the weighting reaches bucketed batches.
  assert.deepEqual(makeExamples(task, 7, STREAMS.train, 0, 50, 3, 40), makeExamples(task, 7, STREAMS.train, 0, 50, 3, 40, 'uniform'));
  const mean = (xs: { length: number }[]) => xs.reduce((a, e) => a + e.length, 0) / xs.length;
  const bucketed = Array.from({ length: 8 }, (_, s) => trainExamples(task, 7, s, 64, 3, 40, { window: 8, weighting: 'linear' })).flat();
  assert.ok(mean(bucketed) > 25 && mean(makeExamples(task, 7, STREAMS.train, 0, 512, 3, 40)) < 23, `bucketed linear mean length ${mean(bucketed)}`);
});

test('length-bucketed training batches: the same examples once each, less padding, a pure function of (seed, step)', () => {
  const task = getTask('modular');
  const B = 32, W = 8;
  const key = (e: { tokens: Int32Array }) => e.tokens.join(',');
  const plain = makeExamples(task, 5, STREAMS.train, 0, 2 * W * B, 3, 40).map(key).sort();
  const cache = new Map();
  const bucketed = [];
  let paddedPlain = 0, paddedBucketed = 0;
  for (let step = 0; step < 2 * W; ++step) {
    const batch = trainExamples(task, 5, step, B, 3, 40, { window: W, cache });
    assert.equal(batch.length, B);
    // Recomputed without the cache: the same batch.
    assert.deepEqual(trainExamples(task, 5, step, B, 3, 40, { window: W }).map(key), batch.map(key));
    bucketed.push(...batch.map(key));
    paddedBucketed += collate(task, batch).T * B;
    paddedPlain += collate(task, trainExamples(task, 5, step, B, 3, 40)).T * B;
  }
  assert.deepEqual(bucketed.sort(), plain);
  assert.ok(paddedBucketed < 0.7 * paddedPlain, `bucketed batches pad to ${paddedBucketed} tokens vs ${paddedPlain} unbucketed`);
  // The bucket order is shuffled: not monotone in length over a window.
  const firstLens = Array.from({ length: W }, (_, s) => trainExamples(task, 5, s, B, 3, 40, { window: W })[0]!.length);
  assert.notDeepEqual(firstLens, [...firstLens].sort((a, b) => a - b));
});

test('user examples in symbols (the issue formats) and batch collation', () => {
  const p = exampleFromSymbols(TASKS.parity, ['1', '0', '1'], '0');
  assert.deepEqual([...p.input], [2, 1, 2]);
  assert.deepEqual([...p.labels], [IGNORE, IGNORE, 1]);
  assert.equal(p.length, 4);
  const m = exampleFromSymbols(TASKS.modular, ['2', '-', '3', '-', '3', '*', '2', '='], '3');
  assert.equal(m.labels[7], TASKS.modular.vocab.id('3'));
  assert.equal(mod5(evaluate(['2', '-', '3', '-', '3', '*', '2'])), 3);
  assert.throws(() => exampleFromSymbols(TASKS.parity, ['1', 'x'], '0'), /unknown symbol "x"/);
  assert.throws(() => exampleFromSymbols(TASKS.parity, ['1'], '+'), /not a possible answer/);
  const s = exampleFromSymbols(TASKS.s5, ['10234', '10234'], ['10234', '01234']);
  assert.deepEqual([...s.labels], [TASKS.s5.vocab.id('10234'), 0]);
  const batch = collate(TASKS.parity, [p, makeExample(TASKS.parity, 1, 1, 0, 9, 9)]);
  assert.equal(batch.T, 8);
  assert.deepEqual([...batch.input.slice(0, 8)], [2, 1, 2, 0, 0, 0, 0, 0]);
  assert.deepEqual([...batch.labels.slice(0, 8)], [IGNORE, IGNORE, 1, IGNORE, IGNORE, IGNORE, IGNORE, IGNORE]);
  assert.throws(() => getTask('nope'), /unknown task 'nope'/);
});

test('scaled accuracy: 0 at chance, 1 when perfect; a constant guess on parity scores ≈ 0', () => {
  assert.equal(scaledAccuracy(1, 0.5), 1);
  assert.equal(scaledAccuracy(0.5, 0.5), 0);
  assert.equal(scaledAccuracy(0.2, 0.2), 0);
  const ex = makeExamples(TASKS.parity, 9, STREAMS.test, 0, 4000, 40, 256);
  const acc = ex.filter((e) => e.tokens[e.answerIndex] === 1).length / ex.length;
  assert.ok(Math.abs(scaledAccuracy(acc, 0.5)) < 0.06, `constant predictor scaled ${scaledAccuracy(acc, 0.5)}`);
});
