#!/usr/bin/env node
// ort-run.js — run a model in ONNX Runtime (the npm onnxruntime-node in .deps/) on .npy inputs:
// the reference for end-to-end tests and benchmarks.
//   node scripts/ort-run.js MODEL [--input NAME=FILE.npy]... [--output-dir DIR]
//        [--threads N] [--repeat N] [--warmup N] [--no-opt]
// Inputs not given are an error. Prints one JSON line: {"median_ms":..,"outputs":[names]}.
'use strict';
const fs = require('fs');
const path = require('path');
const root = path.resolve(__dirname, '..');
const ort = require(path.join(process.env.OCTET_DEPS || path.join(root, '.deps'),
                              'node_modules/onnxruntime-node'));

const NPY_TYPES = {
  '<f4': ['float32', Float32Array], '<f8': ['float64', Float64Array], '|i1': ['int8', Int8Array],
  '|u1': ['uint8', Uint8Array], '<i2': ['int16', Int16Array], '<u2': ['uint16', Uint16Array],
  '<i4': ['int32', Int32Array], '<u4': ['uint32', Uint32Array], '<i8': ['int64', BigInt64Array],
  '<u8': ['uint64', BigUint64Array], '|b1': ['bool', Uint8Array],
};

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const hstart = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', hstart, hstart + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').filter(s => s.trim())
    .map(s => parseInt(s, 10));
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${file}: fortran order`);
  const t = NPY_TYPES[descr];
  if (!t) throw new Error(`${file}: unsupported dtype ${descr}`);
  const off = hstart + hlen;
  const bytes = buf.subarray(off);
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  let data = new t[1](copy.buffer, 0, copy.length / t[1].BYTES_PER_ELEMENT);
  if (t[0] === 'bool') data = Uint8Array.from(data).map(v => v !== 0);
  return new ort.Tensor(t[0], t[0] === 'bool' ? Array.from(data) : data, shape);
}

function writeNpy(file, tensor) {
  const rev = { float32: '<f4', float64: '<f8', int8: '|i1', uint8: '|u1', int16: '<i2',
    uint16: '<u2', int32: '<i4', uint32: '<u4', int64: '<i8', uint64: '<u8', bool: '|b1' };
  const descr = rev[tensor.type];
  if (!descr) throw new Error(`output type ${tensor.type} cannot be written as .npy`);
  const dims = tensor.dims;
  const shape = dims.length === 0 ? '()' : dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const pre = Buffer.alloc(10);
  Buffer.from('\x93NUMPY', 'latin1').copy(pre, 0);
  pre[6] = 1; pre[7] = 0; pre.writeUInt16LE(header.length, 8);
  const data = tensor.type === 'bool' ? Buffer.from(Uint8Array.from(tensor.data, v => (v ? 1 : 0)))
    : Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), data]));
}

async function main() {
  const args = process.argv.slice(2);
  let model = null, outDir = null, threads = 1, repeat = 1, warmup = 0, opt = 'all';
  const inputs = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--input') { const [n, f] = args[++i].split('='); inputs[n] = readNpy(f); }
    else if (a === '--output-dir') outDir = args[++i];
    else if (a === '--threads') threads = parseInt(args[++i], 10);
    else if (a === '--repeat') repeat = parseInt(args[++i], 10);
    else if (a === '--warmup') warmup = parseInt(args[++i], 10);
    else if (a === '--no-opt') opt = 'disabled';
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else model = a;
  }
  if (!model) throw new Error('usage: ort-run.js MODEL [--input NAME=FILE.npy]...');
  const sess = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: opt,
    executionMode: 'sequential',
  });
  for (const n of sess.inputNames) if (!inputs[n]) throw new Error(`missing input ${n}`);
  let out;
  for (let i = 0; i < warmup; i++) await sess.run(inputs);
  const times = [];
  for (let i = 0; i < repeat; i++) {
    const t0 = process.hrtime.bigint();
    out = await sess.run(inputs);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  if (outDir) {
    fs.mkdirSync(outDir, { recursive: true });
    sess.outputNames.forEach((n, i) => writeNpy(path.join(outDir, `output_${i}.npy`), out[n]));
  }
  console.log(JSON.stringify({ median_ms: times[Math.floor(times.length / 2)], outputs: sess.outputNames }));
}

main().catch(e => { console.error(`ort-run: ${e.message}`); process.exit(1); });
