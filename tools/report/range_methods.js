// The range-method table of models/README.md: every activation range method at
// W8A8 and W8A4, and every weight range method at W4A8, for each bundled model,
// as Fashion-MNIST test accuracy of the fake-quantized model (nnquant quantize
// --eval). Calibration runs once per model (1,000 training images, saved with
// --calib-save); every other row reuses its statistics.
//
// usage: node tools/report/range_methods.js NNQUANT_BINARY [--eval-count N] [--methods A,B] [MODEL ...] > table.md
// (--eval-count N: score on the first N test images instead of all 10,000;
//  --methods A,B: only these methods' columns, e.g. to re-measure one.)
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

let ACTIVATION_METHODS = ['minmax', 'ema', 'quantile', 'mse', 'kl', 'meanstd', 'mse+xent', 'bn'];
let WEIGHT_METHODS = ['minmax', 'mse', 'kl'];

let evalCount = null;

function quantize(binary, model, args) {
  const count = evalCount ? ['--eval-count', String(evalCount)] : [];
  const out = execFileSync(binary, ['quantize', model, ...args, '--eval', 'fashion-mnist:test', ...count, '--json'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(out);
}

function main() {
  const [binary, ...rest] = process.argv.slice(2);
  for (;;) {
    if (rest[0] === '--eval-count') {
      evalCount = Number(rest[1]);
    } else if (rest[0] === '--methods') {
      const only = rest[1].split(',');
      const unknown = only.filter(m => !ACTIVATION_METHODS.includes(m) && !WEIGHT_METHODS.includes(m));
      if (unknown.length) throw new Error(`unknown method(s) ${unknown.join(', ')}`);
      ACTIVATION_METHODS = ACTIVATION_METHODS.filter(m => only.includes(m));
      WEIGHT_METHODS = WEIGHT_METHODS.filter(m => only.includes(m));
    } else {
      break;
    }
    rest.splice(0, 2);
  }
  const models = rest;
  const root = path.join(__dirname, '..', '..');
  const list = models.length ? models : fs.readdirSync(path.join(root, 'models')).filter(f => f.endsWith('.onnx'))
    .sort().map(f => path.join(root, 'models', f));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nnq_methods_'));
  const percent = r => (100 * r.quantized_top1).toFixed(2);
  const rows = [];
  for (const model of list) {
    const name = path.basename(model, '.onnx');
    const statistics = path.join(work, `${name}.calib`), q = path.join(work, `${name}.onnx`);
    const first = quantize(binary, model, ['-o', q, '--calib', 'fashion-mnist:train', '--calib-count', '1000',
      '--calib-save', statistics]);
    const reuse = ['-o', q, '--calib-reload', statistics];
    const cells = { fp32: (100 * first.fp32_top1).toFixed(2) };
    for (const m of ACTIVATION_METHODS) {
      cells[`w8a8 ${m}`] = percent(quantize(binary, model, [...reuse, '--act-clip', m]));
      cells[`w8a4 ${m}`] = percent(quantize(binary, model, [...reuse, '--act-clip', m, '--abits', '4']));
    }
    for (const m of WEIGHT_METHODS) cells[`w4a8 ${m}`] = percent(quantize(binary, model, [...reuse, '--weight-clip', m, '--wbits', '4']));
    rows.push([name, cells]);
    process.stderr.write(`${name} done\n`);
  }
  fs.rmSync(work, { recursive: true, force: true });
  const scope = evalCount ? `first ${evalCount} test images` : 'full test set';
  const table = (title, keys, header) => {
    console.log(`\n${title}; ${scope}\n`);
    console.log(`| model | FP32 | ${header.join(' | ')} |`);
    console.log(`|---|---|${header.map(() => '---').join('|')}|`);
    for (const [name, cells] of rows) console.log(`| ${name} | ${cells.fp32} | ${keys.map(k => cells[k]).join(' | ')} |`);
  };
  table('W8A8, activation range method (weights: MSE, per channel)', ACTIVATION_METHODS.map(m => `w8a8 ${m}`), ACTIVATION_METHODS);
  table('W8A4, activation range method (weights: MSE, per channel)', ACTIVATION_METHODS.map(m => `w8a4 ${m}`), ACTIVATION_METHODS);
  table('W4A8, weight range method (per channel; activations: MSE + cross-entropy)', WEIGHT_METHODS.map(m => `w4a8 ${m}`), WEIGHT_METHODS);
}

main();
