// SVG charts: tick choice, log scales, escaping, broken lines at NaN, and well-formed output (parsed with
// the tag-stack checker, which itself must reject broken XML).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeXml, formatTick, lineChart, logTicks, niceTicks } from './plot_svg.ts';
import { findAll, parseXml } from '../testing/xml_check.ts';

test('niceTicks: 1/2/5 steps covering the range', () => {
  assert.deepEqual(niceTicks(0.3, 9.7).ticks, [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(2.31, 2.79, 6).ticks, [2.3, 2.4, 2.5, 2.6, 2.7, 2.8]);
  const flat = niceTicks(5, 5);
  assert.ok(flat.lo < 5 && flat.hi > 5);
});

test('logTicks: decades, with 2 and 5 for narrow ranges', () => {
  assert.deepEqual(logTicks(0.5, 3000).ticks, [0.1, 1, 10, 100, 1000, 10000]);
  const narrow = logTicks(3, 40);
  assert.deepEqual(narrow.ticks, [2, 5, 10, 20, 50]);
  assert.equal(narrow.lo, 2);
  assert.equal(narrow.hi, 50);
});

test('formatTick and escapeXml', () => {
  assert.equal(formatTick(1500), '1500');
  assert.equal(formatTick(15000), '15k');
  assert.equal(formatTick(2e6), '2M');
  assert.equal(formatTick(1e-5), '1e-5');
  assert.equal(escapeXml('a<b & "c"'), 'a&lt;b &amp; &quot;c&quot;');
});

test('lineChart: well-formed SVG with axes, ticks, legend, one polyline per finite segment', () => {
  const svg = lineChart({
    title: 'Loss <test> & more', xLabel: 'tokens seen', yLabel: 'loss', logY: true,
    series: [
      { name: 'run-a', points: [[0, 10], [100, 5], [200, NaN], [300, 3], [400, 2.5]] },
      { name: 'run-b "negeig"', points: [[0, 9], [400, 2]], markers: true, dashed: true },
    ],
  });
  const root = parseXml(svg);
  assert.equal(root.name, 'svg');
  assert.equal(root.attrs.xmlns, 'http://www.w3.org/2000/svg');
  const polylines = findAll(root, 'polyline');
  assert.equal(polylines.length, 3, 'run-a breaks at the NaN point into two segments; run-b is one');
  assert.equal(polylines[2]!.attrs['stroke-dasharray'], '6 4');
  const texts = findAll(root, 'text').map((t) => t.text);
  assert.ok(texts.includes('Loss <test> & more'), 'title is escaped and decodes back');
  assert.ok(texts.includes('run-a') && texts.includes('run-b "negeig"'), 'legend names');
  assert.ok(texts.includes('loss (log scale)') && texts.includes('tokens seen'));
  for (const t of ['2', '5', '10']) assert.ok(texts.includes(t), `log y tick ${t} in ${texts.join('|')}`);
  assert.equal(findAll(root, 'circle').length, 2, 'markers for run-b');
  // Every plotted coordinate lies inside the drawing.
  for (const p of polylines) for (const xy of p.attrs.points!.split(' ')) {
    const [x, y] = xy.split(',').map(Number);
    assert.ok(x! >= 0 && x! <= 780 && y! >= 0 && y! <= 420, `point ${xy} inside the canvas`);
  }
});

test('lineChart: empty or all-NaN series still give a valid chart', () => {
  const root = parseXml(lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'a', points: [[1, NaN]] }] }));
  assert.equal(findAll(root, 'polyline').length, 0);
  assert.equal(findAll(root, 'line').length > 2, true);
});

test('parseXml rejects broken documents', () => {
  assert.throws(() => parseXml('<svg><g></svg>'), /does not match <g>/);
  assert.throws(() => parseXml('<svg><text>a < b</text></svg>'), /not well-formed/);
  assert.throws(() => parseXml('<svg width=10></svg>'), /not quoted/);
  assert.throws(() => parseXml('<svg>&nbsp;</svg>'), /unknown entity/);
  assert.throws(() => parseXml('<svg><g>'), /unclosed <g>/);
  assert.throws(() => parseXml('<a/><b/>'), /second root/);
  assert.equal(parseXml('<?xml version="1.0"?><!-- c --><a x="1"><b/>t&amp;</a>').text, 't&');
});
