// Writes a reproducible pseudo-random float32 .npy of a given shape (values in [0, 1)).
// usage: node make_input.js OUT.npy DIM [DIM ...]
'use strict';
const { writeNpyFloat32 } = require('./npy');
const [out, ...dims] = process.argv.slice(2);
const shape = dims.map(Number);
const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
let state = 12345; // LCG (Numerical Recipes constants): the same input on every run
for (let i = 0; i < data.length; i++) {
  state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
  data[i] = state / 4294967296;
}
writeNpyFloat32(out, data, shape);
