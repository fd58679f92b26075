// ONNX Runtime as the outside reference for nnquant, on every bundled model.
//
// usage: node oracle.js --nnquant BINARY [--models DIR] [--images N] [--only NAME]
//
// --images N caps every check at the first N test images (the sanitizer build's
// quick mode); by default run and convert use 200 and eval all 10,000.
//
// For each models/*.onnx, every row of CHECKS runs and prints one line; the run
// ends with "N passed, N failed". Exit code 0 when all pass, 1 otherwise, 77
// (CTest's skip code) when ONNX Runtime for Node or the models are missing.
//
// Adding a check is one row in CHECKS: a name and an async function taking the
// per-model context and returning { pass, message }.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { loadTestSet } = require('./fashion_mnist');
const { maxAbs, maxAbsDiff, argmaxRows } = require('./compare');
const { ortAvailable, loadOrt, createSession, runImages } = require('./ort_runner');
const { nnquantJson } = require('./nnquant_cli');
const { writeNpyFloat32, readNpy } = require('../../bench/npy');

const SKIP = 77;
const RUN_IMAGES = 200;           // images compared logit by logit (at most)
const RUN_TOLERANCE = 1e-4;       // max |diff| <= RUN_TOLERANCE * max(1, max |logit|)
const SAVE_TOLERANCE = 1e-6;      // a re-saved model: identical, or this close relative to max |logit|

function parseArgs(argv) {
  const args = { nnquant: null, models: path.join(__dirname, '..', '..', 'models'), imageLimit: 0, only: null };
  for (let i = 0; i < argv.length; i++) {
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value`);
      return argv[++i];
    };
    if (argv[i] === '--nnquant') args.nnquant = next();
    else if (argv[i] === '--models') args.models = next();
    else if (argv[i] === '--images') args.imageLimit = Number(next());
    else if (argv[i] === '--only') args.only = next();
    else throw new Error(`unknown argument '${argv[i]}'`);
  }
  if (!args.nnquant) throw new Error('--nnquant BINARY is required');
  if (!(Number.isInteger(args.imageLimit) && args.imageLimit >= 0)) throw new Error('--images needs a count');
  return args;
}

function pass(message) { return { pass: true, message }; }
function fail(message) { return { pass: false, message }; }

// ---- checks ----

// nnquant run on the first RUN_IMAGES images against ORT's logits.
async function checkRun(ctx) {
  const inputPath = path.join(ctx.work, `input_${ctx.runImages}.npy`);
  if (!fs.existsSync(inputPath)) {
    const { images, imageSize, height, width } = ctx.data;
    writeNpyFloat32(inputPath, images.subarray(0, ctx.runImages * imageSize), [ctx.runImages, 1, height, width]);
  }
  const outDir = path.join(ctx.work, `${ctx.name}_run`);
  const report = nnquantJson(ctx.nnquant, ['run', ctx.model, '--input', inputPath, '--output-dir', outDir, '--json']);
  const ours = readNpy(report.outputs[0].file).data;
  const reference = (await ctx.ortLogits()).logits.subarray(0, ours.length);
  const diff = maxAbsDiff(ours, reference), scale = Math.max(1, maxAbs(reference));
  const text = `max |diff| ${diff.toExponential(2)} over ${ctx.runImages} images (max |logit| ${scale.toFixed(2)})`;
  return diff <= RUN_TOLERANCE * scale ? pass(text) : fail(`${text} > ${RUN_TOLERANCE} x ${scale.toFixed(2)}`);
}

// nnquant eval's correct count against ORT's arg-max predictions. The FP32
// half of the default quantization's `eval --plan` run is that evaluation, so
// it is not run twice.
async function checkEval(ctx) {
  const report = defaultQuantization(ctx).simulated;
  const { logits, classes } = await ctx.ortLogits();
  const total = ctx.evalImages;
  const predictions = argmaxRows(logits, total, classes);
  let correct = 0;
  for (let i = 0; i < total; i++) correct += predictions[i] === ctx.data.labels[i];
  const text = `nnquant ${report.correct}/${report.total}, ORT ${correct}/${total} ` +
    `(top-1 ${(100 * correct / total).toFixed(2)}%, nnquant ${report.images_per_second.toFixed(0)} images/s)`;
  return report.correct === correct && report.total === total ? pass(text) : fail(text);
}

// A model written by `nnquant convert EXTRA_ARGS` gives ORT the original's outputs.
function checkConvert(extraArgs, tolerance) {
  return async ctx => {
    const out = path.join(ctx.work, `${ctx.name}_convert${extraArgs.join('').replace(/[^a-z]/g, '_')}.onnx`);
    nnquantJson(ctx.nnquant, ['convert', ctx.model, '-o', out, ...extraArgs], false);
    if (extraArgs.includes('--external-data') && !fs.existsSync(`${out}.data`)) return fail(`${out}.data was not written`);
    const session = await createSession(ctx.ort, out);
    const { images, height, width } = ctx.data;
    const converted = (await runImages(ctx.ort, session, images, ctx.runImages, height, width)).logits;
    const original = (await ctx.ortLogits()).logits.subarray(0, converted.length);
    const diff = maxAbsDiff(converted, original), scale = Math.max(1, maxAbs(original));
    const text = `max |diff| ${diff.toExponential(2)} over ${ctx.runImages} images in ORT`;
    return diff === 0 || diff <= tolerance * scale ? pass(text) : fail(`${text} > ${tolerance} x ${scale.toFixed(2)}`);
  };
}

// nnquant's default post-training quantization, written as QDQ ONNX, runs in
// ORT, and ORT's accuracy agrees with nnquant's fake-quantized accuracy (within
// QDQ_ACCURACY_POINTS) with at least QDQ_IDENTICAL of the predictions identical
// to nnquant's own run of the QDQ model.
const QDQ_CALIBRATION_IMAGES = 1000;
const QDQ_ACCURACY_POINTS = 0.1;
const QDQ_IDENTICAL = 0.995;

// Quantizes once per model; the QDQ, integer and QOperator checks read the
// result. The calibration statistics are kept for the QOperator export.
function defaultQuantization(ctx) {
  if (ctx.qdq) return ctx.qdq;
  const out = path.join(ctx.work, `${ctx.name}_qdq.onnx`), plan = path.join(ctx.work, `${ctx.name}_plan.json`);
  const statistics = path.join(ctx.work, `${ctx.name}_calibration.bin`);
  const calibration = String(Math.min(QDQ_CALIBRATION_IMAGES, ctx.evalImages));
  nnquantJson(ctx.nnquant, ['quantize', ctx.model, '-o', out, '--plan-out', plan, '--calib', 'fashion-mnist:train',
    '--calib-count', calibration, '--calib-save', statistics, '--json']);
  const evalArgs = ['eval', ctx.model, '--dataset', 'fashion-mnist:test', '--plan', plan, '--json'];
  if (ctx.evalImages < ctx.data.count) evalArgs.push('--limit', String(ctx.evalImages));
  ctx.qdq = { model: out, plan, statistics, simulated: nnquantJson(ctx.nnquant, evalArgs) };
  return ctx.qdq;
}

// The default plan's fake-quantized result (eval --plan --json) on the first
// `images` test images; one run per count, shared by the checks.
function simulatedOn(ctx, images) {
  const { simulated, plan } = defaultQuantization(ctx);
  if (images === ctx.evalImages) return simulated;
  ctx.simulatedOn = ctx.simulatedOn || {};
  if (!ctx.simulatedOn[images]) {
    ctx.simulatedOn[images] = nnquantJson(ctx.nnquant,
      ['eval', ctx.model, '--dataset', 'fashion-mnist:test', '--plan', plan, '--limit', String(images), '--json']);
  }
  return ctx.simulatedOn[images];
}

async function checkQdqInOrt(ctx) {
  const { model, simulated } = defaultQuantization(ctx);
  const { images, height, width, labels } = ctx.data;
  const total = ctx.evalImages;
  const session = await createSession(ctx.ort, model);
  const theirs = await runImages(ctx.ort, session, images, total, height, width);
  const ortPredictions = argmaxRows(theirs.logits, total, theirs.classes);
  const inputPath = path.join(ctx.work, `input_${total}.npy`);
  if (!fs.existsSync(inputPath)) writeNpyFloat32(inputPath, images.subarray(0, total * ctx.data.imageSize), [total, 1, height, width]);
  const report = nnquantJson(ctx.nnquant, ['run', model, '--input', inputPath, '--output-dir', path.join(ctx.work, `${ctx.name}_qdq_run`), '--json']);
  const ourPredictions = argmaxRows(readNpy(report.outputs[0].file).data, total, theirs.classes);
  let ortCorrect = 0, identical = 0;
  for (let i = 0; i < total; i++) {
    ortCorrect += ortPredictions[i] === labels[i];
    identical += ortPredictions[i] === ourPredictions[i];
  }
  const gap = 100 * Math.abs(ortCorrect - simulated.quantized_correct) / total;
  // On a quick run (a few images) one differing image is already more than 0.1 points.
  const quick = ctx.evalImages < ctx.data.count;
  const allowedGap = Math.max(QDQ_ACCURACY_POINTS, quick ? 100 / total : 0);
  const allowedDifferent = Math.max(Math.floor((1 - QDQ_IDENTICAL) * total), quick ? 1 : 0);
  const text = `nnquant fake-quantized ${(100 * simulated.quantized_top1).toFixed(2)}%, ` +
    `ORT on QDQ ${(100 * ortCorrect / total).toFixed(2)}%, identical predictions ${identical}/${total}`;
  return gap <= allowedGap && total - identical <= allowedDifferent ? pass(text) : fail(text);
}

// The PTQ issue's accuracy target: default W8A8 loses at most 0.5 points on
// these models (the full test set; not judged on a quick run).
const W8A8_MAX_LOSS_POINTS = 0.5;
const W8A8_TARGET_MODELS = ['lenet5', 'resnet8', 'inception', 'mlp', 'mobilenetv2'];

async function checkW8A8Accuracy(ctx) {
  const { simulated } = defaultQuantization(ctx);
  const loss = 100 * (simulated.top1 - simulated.quantized_top1);
  const text = `fp32 ${(100 * simulated.top1).toFixed(2)}%, W8A8 ${(100 * simulated.quantized_top1).toFixed(2)}% ` +
    `(${loss >= 0 ? '-' : '+'}${Math.abs(loss).toFixed(2)} points)`;
  if (ctx.evalImages < ctx.data.count || !W8A8_TARGET_MODELS.includes(ctx.name)) return pass(`${text}, not judged`);
  return loss <= W8A8_MAX_LOSS_POINTS ? pass(text) : fail(`${text}: loses more than ${W8A8_MAX_LOSS_POINTS}`);
}

// The integer lowering issue's targets: the integer engine (nnquant eval --int)
// on the default plan agrees with the fake-quantized accuracy within
// INTEGER_POINTS[mode] points, on every model that lowers fully to integers
// (others are reported, not judged; so is a quick run, where one image is
// already more than 0.1 points). Rescaling is per output channel, so the integer
// program keeps the plan's per-channel weight grids exactly (per-layer rescaling
// re-quantizes them; measured in the report, not judged).
const INTEGER_POINTS = { float: 0.1, fixed32: 0.1, fixed16: 0.5 };
// The integer engine is the portable reference (tens of images per second on
// the larger models): three modes over the whole test set would dominate the
// suite, so the check reads the first INTEGER_IMAGES images until the engine
// has its optimized kernels. Judged against fake-quantized accuracy on the same
// images (from eval --plan --int's own run).
const INTEGER_IMAGES = 1000;

async function checkIntegerAccuracy(ctx) {
  const { plan } = defaultQuantization(ctx);
  const args = ['eval', ctx.model, '--dataset', 'fashion-mnist:test', '--plan', plan, '--int',
    '--rescale', Object.keys(INTEGER_POINTS).join(','), '--rescale-per-output', '--json'];
  const images = Math.min(ctx.evalImages, INTEGER_IMAGES);
  if (images < ctx.data.count) args.push('--limit', String(images));
  const report = nnquantJson(ctx.nnquant, args);
  const reference = simulatedOn(ctx, images); // the fake-quantized count on the same images
  const quick = ctx.evalImages < ctx.data.count;
  const integerOnly = report.integer.every(r => r.integer_only);
  let ok = true;
  const parts = report.integer.map(r => {
    const gap = 100 * Math.abs(r.integer_correct - reference.quantized_correct) / report.total;
    if (gap > INTEGER_POINTS[r.rescale]) ok = false;
    return `${r.rescale} ${(100 * r.integer_top1).toFixed(2)}%`;
  });
  const text = `${report.total} images: fake-quantized ${(100 * reference.quantized_top1).toFixed(2)}%, integer ${parts.join(', ')}` +
    (integerOnly ? '' : ` (not integer-only: ${report.integer[0].float_steps})`);
  if (quick || !integerOnly) return pass(`${text}, not judged`);
  return ok ? pass(text) : fail(`${text}: beyond ${JSON.stringify(INTEGER_POINTS)} points`);
}

// Issue 5's QOperator agreement: the default plan written as a QOperator model
// with the com.microsoft ops (quantize --format qoperator --ms-ops, from the
// default run's saved statistics: the same plan, no second calibration) runs in
// ORT, and its outputs agree with the integer engine's (run --plan --int
// --rescale float --rescale-per-output) on the first QOPERATOR_IMAGES images:
// both dequantize the same int8 logits grid, so (ORT - nnquant) / output scale
// counts output LSBs. At most QOPERATOR_MAX_LSB for integer-only programs; a
// program with float steps (Softmax, LayerNorm, ... between dequantize and
// quantize, where ORT's float kernels and nnquant's round differently) is
// measured and reported, not judged. ORT's top-1 on those images is reported
// next to the integer engine's and the fake-quantized simulation's.
const QOPERATOR_IMAGES = 1000;
const QOPERATOR_MAX_LSB = 1;

// The plan's scale for a tensor (float32, as the models store it), or NaN.
function planScale(planPath, tensor) {
  const quantizer = JSON.parse(fs.readFileSync(planPath, 'utf8')).quantizers.find(q => q.tensor === tensor);
  return quantizer && quantizer.axis === -1 ? Math.fround(quantizer.scales[0]) : NaN;
}

function top1(logits, count, classes, labels) {
  const predictions = argmaxRows(logits, count, classes);
  let correct = 0;
  for (let i = 0; i < count; i++) correct += predictions[i] === labels[i];
  return `${(100 * correct / count).toFixed(2)}%`;
}

async function checkQOperatorInOrt(ctx) {
  const { plan, statistics } = defaultQuantization(ctx);
  const model = path.join(ctx.work, `${ctx.name}_qoperator.onnx`), qopPlan = path.join(ctx.work, `${ctx.name}_qoperator_plan.json`);
  nnquantJson(ctx.nnquant, ['quantize', ctx.model, '-o', model, '--calib-reload', statistics, '--format', 'qoperator',
    '--ms-ops', '--plan-out', qopPlan, '--json']);
  // The same plan and prepared graph; only the prepared graph's file name (named after the plan) differs.
  const planWithoutFile = file => {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
    const prepared = parsed.prepared_model;
    delete parsed.prepared_model;
    return { text: JSON.stringify(parsed), prepared: prepared && fs.readFileSync(path.join(path.dirname(file), prepared)) };
  };
  const reloaded = planWithoutFile(qopPlan), original = planWithoutFile(plan);
  if (reloaded.text !== original.text || !reloaded.prepared || !original.prepared || !reloaded.prepared.equals(original.prepared))
    return fail('--calib-reload did not reproduce the default plan');
  const { images, height, width, labels } = ctx.data;
  const compared = Math.min(ctx.evalImages, QOPERATOR_IMAGES);
  const session = await createSession(ctx.ort, model);
  const theirs = await runImages(ctx.ort, session, images, compared, height, width);
  const inputPath = path.join(ctx.work, `input_${compared}.npy`);
  if (!fs.existsSync(inputPath)) writeNpyFloat32(inputPath, images.subarray(0, compared * ctx.data.imageSize), [compared, 1, height, width]);
  const report = nnquantJson(ctx.nnquant, ['run', ctx.model, '--input', inputPath, '--plan', plan, '--int',
    '--rescale', 'float', '--rescale-per-output', '--output-dir', path.join(ctx.work, `${ctx.name}_int_run`), '--json']);
  const ours = readNpy(report.outputs[0].file).data;
  const scale = planScale(plan, report.outputs[0].name);
  if (ours.length !== theirs.logits.length || !(scale > 0)) return fail(`${ours.length} integer outputs, ${theirs.logits.length} from ORT, output scale ${scale}`);
  let maxLsb = 0, differing = 0;
  for (let i = 0; i < ours.length; i++) {
    const lsb = Math.round(Math.abs(ours[i] - theirs.logits[i]) / scale); // NaN fails below
    if (!(lsb <= maxLsb)) maxLsb = lsb;
    if (lsb !== 0) differing++;
  }
  const simulated = simulatedOn(ctx, compared);
  const text = `${compared} images: max ${maxLsb} LSB, ${differing}/${ours.length} values differ ` +
    `(${(100 * differing / ours.length).toFixed(2)}%); top-1 ORT on QOperator ${top1(theirs.logits, compared, theirs.classes, labels)}, ` +
    `integer engine ${top1(ours, compared, theirs.classes, labels)}, fake-quantized ${(100 * simulated.quantized_top1).toFixed(2)}%`;
  if (!report.integer_only) {
    const steps = report.float_steps.length > 100 ? `${report.float_steps.slice(0, 100)}...` : report.float_steps;
    return pass(`${text}, not judged (${report.float_step_count} float steps: ${steps})`);
  }
  // Judged on the issue's bundled models; mobilenetv2_skewed's default plan is a collapsed one
  // (6% top-1; CLE is what it needs) and is reported only (3 LSB measured).
  if (!W8A8_TARGET_MODELS.includes(ctx.name)) return pass(`${text}, not judged (a fixture whose default plan collapses)`);
  return maxLsb <= QOPERATOR_MAX_LSB ? pass(text) : fail(`${text}: beyond ${QOPERATOR_MAX_LSB} LSB`);
}

const CHECKS = [
  ['run matches ORT', checkRun],
  ['eval correct count equals ORT', checkEval],
  ['convert keeps ORT outputs', checkConvert([], SAVE_TOLERANCE)],
  ['convert --external-data keeps ORT outputs', checkConvert(['--external-data'], SAVE_TOLERANCE)],
  ['convert --simplify keeps ORT outputs', checkConvert(['--simplify'], RUN_TOLERANCE)],
  ['default QDQ model in ORT agrees with nnquant', checkQdqInOrt],
  ['default W8A8 within 0.5 points of FP32', checkW8A8Accuracy],
  ['integer engine agrees with fake-quantized accuracy', checkIntegerAccuracy],
  ['QOperator model in ORT agrees with the integer engine', checkQOperatorInOrt],
];

// ---- driver ----

// Per-model context; ORT's logits on the images the checks need are computed once.
function modelContext(args, ort, data, work, model) {
  const name = path.basename(model, '.onnx');
  const evalImages = args.imageLimit ? Math.min(args.imageLimit, data.count) : data.count;
  const runImagesCount = Math.min(RUN_IMAGES, evalImages);
  let cached = null;
  const ortLogits = () => {
    if (!cached) {
      cached = createSession(ort, model).then(session =>
        runImages(ort, session, data.images, evalImages, data.height, data.width));
    }
    return cached;
  };
  return { name, model, nnquant: args.nnquant, runImages: runImagesCount, evalImages, ort, data, work, ortLogits };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (!ortAvailable()) {
    console.log('SKIP: tools/ort/node_modules/onnxruntime-node is missing (scripts/deps.sh --oracle installs it)');
    return SKIP;
  }
  const models = fs.existsSync(args.models)
    ? fs.readdirSync(args.models).filter(f => f.endsWith('.onnx')).sort().map(f => path.join(args.models, f))
    : [];
  const selected = args.only ? models.filter(m => path.basename(m, '.onnx') === args.only) : models;
  if (selected.length === 0) {
    console.log(`SKIP: no models${args.only ? ` named ${args.only}` : ''} in ${args.models}`);
    return SKIP;
  }
  const ort = loadOrt();
  const data = loadTestSet();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nnq_oracle_'));
  let passed = 0, failed = 0;
  try {
    for (const model of selected) {
      const ctx = modelContext(args, ort, data, work, model);
      for (const [checkName, check] of CHECKS) {
        const start = Date.now();
        let result;
        try {
          result = await check(ctx);
        } catch (e) {
          result = fail(e.message.split('\n').slice(0, 4).join(' | '));
        }
        const seconds = ((Date.now() - start) / 1000).toFixed(1);
        console.log(`${result.pass ? 'PASS' : 'FAIL'} ${ctx.name}: ${checkName}: ${result.message} [${seconds} s]`);
        if (result.pass) passed++;
        else failed++;
      }
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

main().then(code => process.exit(code), e => {
  console.error(`oracle: ${e.message}`);
  process.exit(1);
});
