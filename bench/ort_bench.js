// Times ONNX Runtime (CPU) on one model and one input, like `nnquant run --repeat`.
// usage: node ort_bench.js MODEL INPUT_NAME INPUT.npy REPEAT THREADS
// prints {"median_ms": ...}
'use strict';
const path = require('path');
const ort = require(path.join(__dirname, '..', 'tools', 'ort', 'node_modules', 'onnxruntime-node'));
const { readNpy } = require('./npy');

async function main() {
  const [model, inputName, inputPath, repeatText, threadsText] = process.argv.slice(2);
  const repeat = Number(repeatText || 20);
  const threads = Number(threadsText || 0);
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all',
  });
  const input = readNpy(inputPath);
  const feeds = { [inputName]: new ort.Tensor('float32', input.data, input.shape) };
  await session.run(feeds); // warm-up, as nnquant's first run also pays one-time costs
  const times = [];
  for (let r = 0; r < repeat; r++) {
    const start = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ median_ms: times[Math.floor(repeat / 2)], runs: repeat }));
}
main().catch(e => { console.error(`ort_bench: ${e.message}`); process.exit(1); });
