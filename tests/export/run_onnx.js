// Runs an ONNX model in ONNX Runtime (onnxruntime-node, CPU) for test_onnx_export.
//   node run_onnx.js model.onnx in.json out.json
// in.json:  {"batches": [{"shape": [N, d], "data": [N*d numbers, row-major],
//                          "extra": {"<input name>": {"shape": [...], "data": [...]}}}, ...]}
//           ("extra", optional: the model's other inputs, such as a recurrent state)
// out.json: {"runtime": version, "inputs": [...], "outputs": [...],
//            "batches": [{"<output name>": {"dims": [...], "data": [...]}, ...}, ...]}
// Exits non-zero with a message on stderr when anything fails (including a missing runtime).
'use strict';
const fs = require('fs');

async function main() {
  const [modelPath, inPath, outPath] = process.argv.slice(2);
  if (!outPath) throw new Error('usage: node run_onnx.js model.onnx in.json out.json');
  let ort;
  try {
    ort = require('onnxruntime-node');
  } catch (e) {
    throw new Error('onnxruntime-node is not installed next to ' + __dirname +
                    ' (run scripts/setup.sh, or: cd tests/export && npm ci --ignore-scripts): ' + e.message);
  }
  const session = await ort.InferenceSession.create(modelPath, {executionProviders: ['cpu'], logSeverityLevel: 3});
  const input = JSON.parse(fs.readFileSync(inPath, 'utf8'));
  const result = {
    runtime: ort.env.versions ? ort.env.versions.node : 'unknown',
    inputs: session.inputNames,
    outputs: session.outputNames,
    batches: [],
  };
  for (const b of input.batches) {
    const feeds = {};
    feeds[session.inputNames[0]] = new ort.Tensor('float32', Float32Array.from(b.data), b.shape);
    for (const [name, t] of Object.entries(b.extra || {}))
      feeds[name] = new ort.Tensor('float32', Float32Array.from(t.data), t.shape);
    const out = await session.run(feeds);
    const r = {};
    for (const name of session.outputNames) {
      const t = out[name];
      if (t.type !== 'float32') throw new Error('output ' + name + ' has type ' + t.type);
      r[name] = {dims: Array.from(t.dims), data: Array.from(t.data)};
    }
    result.batches.push(r);
  }
  fs.writeFileSync(outPath, JSON.stringify(result));
}

main().catch((e) => {
  process.stderr.write('run_onnx.js: ' + (e && e.stack ? e.stack : e) + '\n');
  process.exit(1);
});
