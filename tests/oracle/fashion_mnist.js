// Reads the Fashion-MNIST test set straight from Debian's gzip'd IDX files
// (format: http://yann.lecun.com/exdb/mnist/), independently of nnquant's own
// reader, and normalizes pixels the way the models were trained: pixel / 255.
'use strict';
const fs = require('fs');
const zlib = require('zlib');

const DEFAULT_DIR = '/usr/share/datasets/fashion-mnist';
const IDX_UBYTE = 0x08;

// Big-endian header: two zero bytes, type code, rank, then rank 32-bit dims.
function readIdx(path) {
  const bytes = zlib.gunzipSync(fs.readFileSync(path));
  if (bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== IDX_UBYTE) throw new Error(`${path}: not a uint8 IDX file`);
  const rank = bytes[3];
  const dims = [];
  for (let i = 0; i < rank; i++) dims.push(bytes.readUInt32BE(4 + 4 * i));
  const offset = 4 + 4 * rank;
  const count = dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== offset + count) throw new Error(`${path}: ${bytes.length - offset} data bytes, expected ${count}`);
  return { dims, data: bytes.subarray(offset) };
}

// { count, images: Float32Array [count*28*28] (pixel / 255), labels: Uint8Array, imageSize: 784 }
function loadTestSet(dir = DEFAULT_DIR) {
  const images = readIdx(`${dir}/t10k-images-idx3-ubyte.gz`);
  const labels = readIdx(`${dir}/t10k-labels-idx1-ubyte.gz`);
  const [count, height, width] = images.dims;
  if (labels.dims[0] !== count) throw new Error(`${count} images but ${labels.dims[0]} labels`);
  const normalized = new Float32Array(images.data.length);
  for (let i = 0; i < images.data.length; i++) normalized[i] = images.data[i] / 255;
  return { count, height, width, imageSize: height * width, images: normalized, labels: labels.data };
}

module.exports = { loadTestSet };
