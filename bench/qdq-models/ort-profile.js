#!/usr/bin/env node
// ort-profile.js — ONNX Runtime's per-node times (one thread) for one input of a model, to set
// beside `octet run --profile`: the mean over REPEAT runs of each node's kernel time, largest first.
//   node bench/qdq-models/ort-profile.js MODEL INPUT_NAME X.npy [REPEAT]
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const root = path.resolve(__dirname, '../..');
const ort = require(path.join(process.env.OCTET_DEPS || path.join(root, '.deps'), 'node_modules/onnxruntime-node'));

function readNpyF32(file) {
  const buf = fs.readFileSync(file);
  const hlen = buf[6] === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8), hstart = buf[6] === 1 ? 10 : 12;
  const header = buf.toString('latin1', hstart, hstart + hlen);
  if (!/'descr':\s*'<f4'/.test(header)) throw new Error(`${file}: float32 .npy expected`);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').filter(s => s.trim()).map(s => parseInt(s, 10));
  const bytes = Uint8Array.from(buf.subarray(hstart + hlen));
  return new ort.Tensor('float32', new Float32Array(bytes.buffer), shape);
}

async function main() {
  const [model, name, x, rep] = process.argv.slice(2);
  if (!x) throw new Error('usage: ort-profile.js MODEL INPUT_NAME X.npy [REPEAT]');
  const repeat = parseInt(rep || '10', 10);
  const prefix = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ortprof-')), 'p');
  const sess = await ort.InferenceSession.create(model, {
    intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential',
    enableProfiling: true, profileFilePrefix: prefix,
  });
  const feeds = { [name]: readNpyF32(x) };
  for (let i = 0; i < 2; i++) await sess.run(feeds);
  for (let i = 0; i < repeat; i++) await sess.run(feeds);
  sess.endProfiling();
  const dir = path.dirname(prefix);
  const file = fs.readdirSync(dir).filter(f => f.endsWith('.json')).map(f => path.join(dir, f))[0];
  const events = JSON.parse(fs.readFileSync(file, 'utf8'));
  const sum = new Map(), op = new Map(), runs = new Map();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const n = e.name.slice(0, -'_kernel_time'.length);
    sum.set(n, (sum.get(n) || 0) + e.dur);
    runs.set(n, (runs.get(n) || 0) + 1);
    op.set(n, e.args && e.args.op_name);
  }
  const rows = [...sum.entries()].map(([n, us]) => [us / runs.get(n) / 1000, op.get(n), n]);
  rows.sort((a, b) => b[0] - a[0]);
  let total = 0;
  for (const [ms, o, n] of rows) {
    total += ms;
    console.log(`${ms.toFixed(3).padStart(9)} ms  ${String(o).padEnd(22)} ${n}`);
  }
  console.log(`${total.toFixed(3).padStart(9)} ms  total of ${rows.length} nodes (mean of ${repeat + 2} runs)`);
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch(e => { console.error(`ort-profile: ${e.message}`); process.exit(1); });
