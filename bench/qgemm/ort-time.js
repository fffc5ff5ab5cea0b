// ort-time.js DIR — times every model of DIR/manifest.tsv in ONNX Runtime (onnxruntime-node, one
// thread, all graph optimizations), best of many runs of process CPU time; prints "name<TAB>seconds per op".
const fs = require('fs');
const path = require('path');
const ortPath = process.env.ORT_NODE || path.join(__dirname, '../../.deps/node_modules/onnxruntime-node');
const ort = require(ortPath);

async function main() {
  const dir = process.argv[2];
  const lines = fs.readFileSync(path.join(dir, 'manifest.tsv'), 'utf8').trim().split('\n');
  for (const line of lines) {
    const [name, reps, shape] = line.split('\t');
    const dims = shape.split(',').map(Number);
    const sess = await ort.InferenceSession.create(path.join(dir, name + '.onnx'), {
      intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential',
      graphOptimizationLevel: 'all'});
    const n = dims.reduce((a, b) => a * b, 1);
    const data = new Uint8Array(n);
    for (let i = 0; i < n; i++) data[i] = (i * 2654435761) >>> 24;
    const feeds = {x0: new ort.Tensor('uint8', data, dims)};
    for (let i = 0; i < 3; i++) await sess.run(feeds);
    let best = Infinity;
    const t_end = process.hrtime.bigint() + 1500000000n;
    for (let i = 0; i < 400 && (i < 5 || process.hrtime.bigint() < t_end); i++) {
      // CPU time of the process (ORT runs one intra-op thread): the machine is shared, and
      // bench-qgemm measures octet's thread CPU time the same way.
      const c0 = process.cpuUsage();
      await sess.run(feeds);
      const c = process.cpuUsage(c0);
      const t = (c.user + c.system) * 1e-6;
      if (t < best) best = t;
    }
    console.log(`${name}\t${best / Number(reps)}`);
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
