// Comparisons of model outputs: the largest absolute difference, the largest
// magnitude, and first-arg-max predictions (numpy.argmax's tie rule).
'use strict';

function maxAbs(values) {
  let m = 0;
  for (const v of values) m = Math.max(m, Math.abs(v));
  return m;
}

// NaN anywhere makes the difference NaN, which fails every "<=" check.
function maxAbsDiff(a, b) {
  if (a.length !== b.length) return NaN;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = d;
  }
  return m;
}

function argmaxRows(logits, rows, classes) {
  const predictions = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[r * classes + c] > logits[r * classes + best]) best = c;
    predictions[r] = best;
  }
  return predictions;
}

module.exports = { maxAbs, maxAbsDiff, argmaxRows };
