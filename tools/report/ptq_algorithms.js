// The PTQ-algorithm tables of models/README.md, in the style of the white
// paper's tables 3-5: every cell is the Fashion-MNIST test accuracy of the
// exported QDQ model run by ONNX Runtime, next to nnquant's fake-quantized
// accuracy of the same plan (they should agree; a gap is a bug).
//
//   1. per-tensor W8A8: plain, + CLE (pairs across ReLU6 skipped, the default,
//      or ReLU6 made a Relu first), + CLE + bias absorption, per channel
//   2. W4A8 per channel: nearest rounding, empirical and analytic bias
//      correction, AdaRound
//   3. W8A8: calibrated (1,000 training images) vs data-free (no data at all)
//
// usage: node tools/report/ptq_algorithms.js NNQUANT_BINARY [--table 1|2|3 [--column NAME]] > tables.md
// (--column: re-measure one column, e.g. --table 2 --column 'bias corr. (analytic)')
// Needs ONNX Runtime for Node (scripts/deps.sh --oracle). Takes about half an
// hour on two cores, AdaRound most of it.
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { loadTestSet } = require('../../tests/oracle/fashion_mnist');
const { argmaxRows } = require('../../tests/oracle/compare');
const { ortAvailable, loadOrt, createSession, runImages } = require('../../tests/oracle/ort_runner');

const ROOT = path.join(__dirname, '..', '..');
const CALIB = ['--calib', 'fashion-mnist:train', '--calib-count', '1000'];

const TABLES = {
  1: {
    title: 'Per-tensor W8A8 (white paper table 3)',
    models: ['mobilenetv2', 'mobilenetv2_skewed'],
    columns: {
      'plain': [...CALIB, '--per-tensor'],
      '+ CLE': [...CALIB, '--per-tensor', '--cle'],
      '+ CLE (ReLU6 as Relu)': [...CALIB, '--per-tensor', '--cle', '--cle-replace-relu6'],
      '+ CLE + absorption': [...CALIB, '--per-tensor', '--cle', '--bias-absorption', 'data-free'],
      'per channel': [...CALIB],
    },
  },
  2: {
    title: 'W4A8, weights per channel (white paper tables 4-5)',
    models: ['lenet5', 'resnet8', 'mobilenetv2', 'inception'],
    columns: {
      'nearest': [...CALIB, '--wbits', '4'],
      'bias corr. (empirical)': [...CALIB, '--wbits', '4', '--bias-correction', 'empirical'],
      'bias corr. (analytic)': [...CALIB, '--wbits', '4', '--bias-correction', 'analytic'],
      'AdaRound': [...CALIB, '--wbits', '4', '--adaround'],
    },
  },
  3: {
    title: 'W8A8, calibrated vs data-free (white paper §3.5)',
    models: ['resnet8', 'mobilenetv2', 'inception', 'mobilenetv2_skewed'],
    columns: {
      'calibrated': [...CALIB],
      'data-free': ['--preset', 'data-free'],
    },
  },
};

function quantize(binary, model, out, args) {
  const text = execFileSync(binary, ['quantize', model, '-o', out, ...args, '--eval', 'fashion-mnist:test', '--json'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 24 });
  return JSON.parse(text);
}

async function ortTop1(ort, modelPath, data) {
  const session = await createSession(ort, modelPath);
  const { logits, classes } = await runImages(ort, session, data.images, data.count, data.height, data.width);
  const predicted = argmaxRows(logits, data.count, classes);
  let correct = 0;
  for (let i = 0; i < data.count; i++) correct += predicted[i] === data.labels[i];
  return correct / data.count;
}

async function main() {
  const args = process.argv.slice(2);
  const binary = args[0];
  if (!binary) throw new Error('usage: node ptq_algorithms.js NNQUANT_BINARY [--table N [--column NAME]]');
  const option = name => { const i = args.indexOf(name); return i > 0 ? args[i + 1] : null; };
  const only = option('--table') ? [option('--table')] : Object.keys(TABLES);
  const column = option('--column');
  if (!ortAvailable()) throw new Error('ONNX Runtime for Node is missing: run scripts/deps.sh --oracle');
  const ort = loadOrt();
  const data = loadTestSet();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nnq_ptq_tables_'));
  const percent = x => (100 * x).toFixed(2);
  for (const key of only) {
    const table = TABLES[key];
    const names = Object.keys(table.columns).filter(c => !column || c === column);
    console.log(`\n${table.title}: ONNX Runtime on the QDQ model (nnquant's fake-quantized accuracy)\n`);
    console.log(`| model | FP32 | ${names.join(' | ')} |`);
    console.log(`| --- | ---: | ${names.map(() => '---:').join(' | ')} |`);
    for (const name of table.models) {
      const model = path.join(ROOT, 'models', `${name}.onnx`);
      if (!fs.existsSync(model)) continue;
      let fp32 = null;
      const cells = [];
      for (const column of names) {
        const out = path.join(work, `${name}.onnx`);
        const started = Date.now();
        const summary = quantize(binary, model, out, table.columns[column]);
        fp32 = summary.fp32_top1;
        const ortAccuracy = await ortTop1(ort, out, data);
        cells.push(`${percent(ortAccuracy)} (${percent(summary.quantized_top1)})`);
        process.stderr.write(`${name} ${column}: ${percent(ortAccuracy)} in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
      }
      console.log(`| ${name} | ${percent(fp32)} | ${cells.join(' | ')} |`);
    }
  }
  fs.rmSync(work, { recursive: true, force: true });
}

main().catch(e => {
  console.error(e.message);
  process.exit(1);
});
