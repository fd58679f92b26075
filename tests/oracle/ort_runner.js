// ONNX Runtime sessions for the oracle: CPU, 2 intra-op threads, basic graph
// optimizations, run over many images in batches.
'use strict';
const path = require('path');
const fs = require('fs');

const ORT_DIR = path.join(__dirname, '..', '..', 'tools', 'ort', 'node_modules', 'onnxruntime-node');
const BATCH = 500;

function ortAvailable() {
  return fs.existsSync(path.join(ORT_DIR, 'package.json'));
}

function loadOrt() {
  return require(ORT_DIR);
}

async function createSession(ort, modelPath) {
  return ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'basic',
  });
}

// Runs the first output over `count` images of `data` (imageSize floats each,
// fed as [B,1,H,W]); returns { logits: Float32Array, classes }. A model whose
// batch dimension is fixed is retried one image at a time.
async function runImages(ort, session, data, count, height, width) {
  const imageSize = height * width;
  const inputName = session.inputNames[0], outputName = session.outputNames[0];
  const runBatch = async (first, n) => {
    const input = new ort.Tensor('float32', data.subarray(first * imageSize, (first + n) * imageSize), [n, 1, height, width]);
    const result = await session.run({ [inputName]: input });
    return result[outputName].data;
  };
  let batch = Math.min(BATCH, count);
  let chunks = [];
  try {
    for (let first = 0; first < count; first += batch) chunks.push(await runBatch(first, Math.min(batch, count - first)));
  } catch (e) {
    if (batch === 1) throw e;
    batch = 1;
    chunks = [];
    for (let first = 0; first < count; first++) chunks.push(await runBatch(first, 1));
  }
  const total = chunks.reduce((a, c) => a + c.length, 0);
  const logits = new Float32Array(total);
  let offset = 0;
  for (const c of chunks) {
    logits.set(c, offset);
    offset += c.length;
  }
  return { logits, classes: total / count };
}

module.exports = { ortAvailable, loadOrt, createSession, runImages };
