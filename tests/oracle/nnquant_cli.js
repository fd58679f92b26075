// Runs the nnquant command line for the oracle and reads its --json report.
'use strict';
const { execFileSync } = require('child_process');

// Runs BINARY ARGS...; returns the parsed JSON on stdout (or null when parseJson
// is false). A failure throws with nnquant's stderr in the message.
function nnquantJson(binary, args, parseJson = true) {
  let stdout;
  try {
    stdout = execFileSync(binary, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  } catch (e) {
    throw new Error(`nnquant ${args[0]} failed (exit ${e.status}): ${(e.stderr || e.message).trim()}`);
  }
  return parseJson ? JSON.parse(stdout) : null;
}

module.exports = { nnquantJson };
