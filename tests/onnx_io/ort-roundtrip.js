// ort-roundtrip.js — models re-saved by octet load in ONNX Runtime and give bit-identical outputs.
// Usage: node ort-roundtrip.js IO_TOOL [--all]
// Default subset (keeps the run near a minute on 2 shared cores): every 8th libonnx-testdata node
// test, every 3rd pytorch-converted / pytorch-operator test, all simple tests, the shared models
// and the npm models (random inputs); --all runs every test of every folder. Half of the models are re-saved with
// external data (threshold 1 KiB), so side files are checked too.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const root = process.env.OCTET_SOURCE_ROOT || path.resolve(__dirname, '../..');
let ort;
try {
  ort = require(path.join(root, '.deps/node_modules/onnxruntime-node'));
} catch (e) {
  console.log('SKIP: onnxruntime-node not installed under .deps (scripts/install-deps.sh)');
  process.exit(77);
}
const tool = process.argv[2];
const all = process.argv.includes('--all');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'octet-ort-'));

const TYPES = { 1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 9: 'bool',
  10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64' };
const ARRAYS = { float32: Float32Array, uint8: Uint8Array, int8: Int8Array, uint16: Uint16Array, int16: Int16Array,
  int32: Int32Array, int64: BigInt64Array, bool: Uint8Array, float16: Uint16Array, float64: Float64Array,
  uint32: Uint32Array, uint64: BigUint64Array };

function pbTensor(file) {
  const raw = path.join(tmp, 'in.bin');
  let desc;
  try {
    desc = JSON.parse(execFileSync(tool, ['tensor', file, raw], { stdio: ['ignore', 'pipe', 'ignore'] }).toString());
  } catch (e) {
    return null; // string / sequence inputs: not fed from here
  }
  const type = TYPES[desc.dtype];
  if (!type) return null;
  const bytes = fs.readFileSync(raw);
  const A = ARRAYS[type];
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  const data = new A(copy.buffer, 0, bytes.length / A.BYTES_PER_ELEMENT);
  return { name: desc.name, tensor: new ort.Tensor(type, data, desc.dims) };
}

// Deterministic pseudo-random inputs for models without test data.
let seed = 12345;
function rnd() {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
}
function randomInputs(session, file) {
  const feeds = {};
  for (const md of session.inputMetadata) {
    if (!md.isTensor) return null;
    const shape = md.shape.map((d, i) => (typeof d === 'number' && d >= 0 ? d : md.shape.length === 4 && i >= 2 ? 64 : 1));
    if (/silero/.test(file) && md.name === 'input') shape[shape.length - 1] = 576;
    const n = shape.reduce((a, b) => a * b, 1);
    const A = ARRAYS[md.type];
    if (!A) return null;
    const data = new A(n);
    for (let i = 0; i < n; i++) {
      if (md.type === 'int64' || md.type === 'uint64') data[i] = BigInt(md.name === 'sr' ? 16000 : Math.floor(rnd() * 3));
      else if (md.type === 'float32' || md.type === 'float64') data[i] = rnd() * 2 - 1;
      else data[i] = Math.floor(rnd() * 3);
    }
    feeds[md.name] = new ort.Tensor(md.type, data, shape);
  }
  return feeds;
}

function sameBytes(a, b) {
  if (a.type !== b.type || a.dims.join() !== b.dims.join()) return false;
  if (!ArrayBuffer.isView(a.data)) return JSON.stringify(a.data) === JSON.stringify(b.data);
  const x = Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  const y = Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength);
  return x.equals(y);
}

function listModels() {
  const base = '/usr/share/libonnx-testdata/data';
  const out = [];
  for (const group of ['node', 'pytorch-converted', 'pytorch-operator', 'simple']) {
    const dir = path.join(base, group);
    if (!fs.existsSync(dir)) continue;
    const names = fs.readdirSync(dir).sort();
    names.forEach((n, i) => {
      if (!all && i % (group === 'node' ? 8 : group === 'simple' ? 1 : 3) !== 0) return;
      const m = path.join(dir, n, 'model.onnx');
      if (fs.existsSync(m)) out.push(m);
    });
  }
  for (const dir of ['/work/shared/models', path.join(root, '.deps/ocr-models/assets'), path.join(root, '.deps/silero-vad/weights')]) {
    if (!fs.existsSync(dir)) continue;
    for (const n of fs.readdirSync(dir).sort()) if (n.endsWith('.onnx')) out.push(path.join(dir, n));
  }
  return out;
}

async function main() {
  const models = listModels();
  let compared = 0, bothRejected = 0, failures = 0, k = 0;
  const opts = { logSeverityLevel: 4, graphOptimizationLevel: 'disabled' };
  for (const file of models) {
    const out = path.join(tmp, `m${k}.onnx`);
    const threshold = k++ % 2 ? '1024' : '0';
    try {
      execFileSync(tool, ['resave', file, out, threshold], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (e) {
      console.log(`FAIL resave ${file}: ${e.stderr}`);
      failures++;
      continue;
    }
    let s1, s2;
    try {
      s1 = await ort.InferenceSession.create(file, opts);
    } catch (e) {
      // ONNX Runtime cannot load the original (unsupported op/type): the copy must fail too.
      try {
        await ort.InferenceSession.create(out, opts);
        console.log(`FAIL ${file}: original rejected by ORT but the re-saved copy loads`);
        failures++;
      } catch (e2) {
        bothRejected++;
      }
      continue;
    }
    try {
      s2 = await ort.InferenceSession.create(out, opts);
    } catch (e) {
      console.log(`FAIL ${file}: ORT rejects the re-saved copy: ${e.message.split('\n')[0]}`);
      failures++;
      continue;
    }
    const dir = path.dirname(file);
    let feeds = {};
    const ds = path.join(dir, 'test_data_set_0');
    if (fs.existsSync(ds)) {
      const files = fs.readdirSync(ds).filter((f) => /^input_\d+\.pb$/.test(f))
        .sort((a, b) => parseInt(a.slice(6)) - parseInt(b.slice(6)));
      let ok = true;
      files.forEach((f, i) => {
        const t = ok ? pbTensor(path.join(ds, f)) : null;
        if (!t) ok = false;
        else feeds[s1.inputNames[i]] = t.tensor;
      });
      if (!ok) feeds = null;
    } else {
      feeds = randomInputs(s1, file);
    }
    if (!feeds) {
      bothRejected++;
      continue;
    }
    let r1, r2, e1 = null, e2 = null;
    try { r1 = await s1.run(feeds); } catch (e) { e1 = e.message; }
    try { r2 = await s2.run(feeds); } catch (e) { e2 = e.message; }
    if (e1 || e2) {
      if (!(e1 && e2)) {
        console.log(`FAIL ${file}: only one run failed: ${e1 || e2}`);
        failures++;
      } else {
        bothRejected++;
      }
      continue;
    }
    for (const name of s1.outputNames) {
      if (!sameBytes(r1[name], r2[name])) {
        console.log(`FAIL ${file}: output '${name}' differs after re-saving`);
        failures++;
      }
    }
    compared++;
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  console.log(`${models.length} models: ${compared} compared bit-exactly, ${bothRejected} rejected by ORT in both forms, ${failures} failures`);
  process.exit(failures ? 1 : 0);
}
main().catch((e) => {
  console.log(`FAIL: ${e.stack}`);
  process.exit(1);
});
