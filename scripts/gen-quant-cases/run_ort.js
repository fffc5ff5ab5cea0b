// run_ort.js — runs every case of OUTDIR/cases.json in ONNX Runtime (onnxruntime-node, graph
// optimizations disabled, one thread) and writes OUTDIR/ort_outputs.json.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require(process.env.ORT_NODE || '/work/main/.deps/node_modules/onnxruntime-node');

const TYPES = {1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32'};
const ARRAYS = {1: Float32Array, 2: Uint8Array, 3: Int8Array, 6: Int32Array};
const CODES = {float32: 1, uint8: 2, int8: 3, int32: 6};

async function main() {
  const dir = process.argv[2];
  const cases = JSON.parse(fs.readFileSync(path.join(dir, 'cases.json')));
  const opts = {graphOptimizationLevel: 'disabled', intraOpNumThreads: 1, interOpNumThreads: 1,
                executionMode: 'sequential', logSeverityLevel: 4};
  const results = {};
  let ok = 0;
  for (const c of cases) {
    try {
      const session = await ort.InferenceSession.create(path.join(dir, c.model), opts);
      const feeds = {};
      for (const i of c.inputs) {
        if (!i.present || i.const) continue;
        const buf = Buffer.from(i.data, 'base64');
        const A = ARRAYS[i.dtype];
        const copy = new Uint8Array(buf.length);
        copy.set(buf);
        feeds[i.name] = new ort.Tensor(TYPES[i.dtype], new A(copy.buffer, 0, buf.length / A.BYTES_PER_ELEMENT), i.dims);
      }
      const out = await session.run(feeds);
      results[c.id] = {outputs: c.outputs.map((n) => {
        const t = out[n];
        const d = t.data;
        return {dtype: CODES[t.type], dims: t.dims.map(Number),
                data: Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('base64')};
      })};
      ok++;
      if (session.release) await session.release();
    } catch (e) {
      results[c.id] = {error: String(e.message || e).split('\n')[0]};
    }
  }
  fs.writeFileSync(path.join(dir, 'ort_outputs.json'), JSON.stringify(results));
  console.log(`ORT ran ${ok} of ${cases.length} cases`);
}
main().catch((e) => { console.error(e); process.exit(1); });
