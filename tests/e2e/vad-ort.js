// vad-ort.js — the ONNX Runtime twin of vad-stream.c: same framing, same state carrying.
//   node vad-ort.js MODEL.onnx IN.wav OUT.f32   (raw little-endian float32 probabilities)
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require(path.join(process.env.OCTET_DEPS || path.join(__dirname, '../../.deps'),
                              'node_modules/onnxruntime-node'));

function readWav(file) {
  const b = fs.readFileSync(file);
  let p = 12;
  while (p + 8 <= b.length) {
    const id = b.toString('latin1', p, p + 4), len = b.readUInt32LE(p + 4);
    if (id === 'data') {
      const out = new Float32Array(len / 2);
      for (let i = 0; i < out.length; i++) out[i] = b.readInt16LE(p + 8 + 2 * i) / 32768;
      return out;
    }
    p += 8 + len + (len & 1);
  }
  throw new Error(`${file}: no data chunk`);
}

async function main() {
  const [model, wav, out] = process.argv.slice(2);
  const pcm = readWav(wav);
  const sess = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const frames = Math.floor(pcm.length / 512);
  const probs = new Float32Array(frames);
  let x = new Float32Array(576), state = new Float32Array(256);
  const sr = new ort.Tensor('int64', BigInt64Array.from([16000n]), []);
  for (let f = 0; f < frames; f++) {
    const nx = new Float32Array(576);
    nx.set(x.subarray(512, 576), 0);
    nx.set(pcm.subarray(f * 512, f * 512 + 512), 64);
    x = nx;
    const r = await sess.run({ input: new ort.Tensor('float32', x, [1, 576]),
                               state: new ort.Tensor('float32', state, [2, 1, 128]), sr });
    probs[f] = r.output.data[0];
    state = Float32Array.from(r.stateN.data);
  }
  fs.writeFileSync(out, Buffer.from(probs.buffer));
}
main().catch(e => { console.error(`vad-ort: ${e.message}`); process.exit(1); });
