#!/usr/bin/env node
// ort-level.js — runs a one-input float model in ONNX Runtime at a chosen graph optimization
// level (disabled | basic | extended | all), raw float32 in and out, for qop-e2e.py:
//   node ort-level.js MODEL LEVEL INPUT_NAME IN.f32 DIMS(comma) OUT.f32
// Prints the output dims as JSON. ORT's extended fusions (LayerNorm, Gelu) change float results,
// so the tests also compare with the 'basic' level, which runs the graph as written.
'use strict';
const fs = require('fs');
const path = require('path');
const deps = process.env.OCTET_DEPS ||
  path.join(process.env.OCTET_SOURCE_ROOT || path.resolve(__dirname, '..', '..'), '.deps');
const ort = require(path.join(deps, 'node_modules/onnxruntime-node'));

async function main() {
  const [model, level, name, inFile, dims, outFile] = process.argv.slice(2);
  if (!outFile) throw new Error('usage: ort-level.js MODEL LEVEL INPUT_NAME IN.f32 DIMS OUT.f32');
  const buf = fs.readFileSync(inFile);
  const x = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
  const sess = await ort.InferenceSession.create(model, {
    intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: level, executionMode: 'sequential',
  });
  const out = await sess.run({ [name]: new ort.Tensor('float32', Float32Array.from(x), dims.split(',').map(Number)) });
  const y = out[sess.outputNames[0]];
  fs.writeFileSync(outFile, Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength));
  console.log(JSON.stringify(y.dims));
}

main().catch(e => { console.error(`ort-level: ${e.message}`); process.exit(1); });
