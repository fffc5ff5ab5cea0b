#!/usr/bin/python3
"""make-bench-models.py — models for bench/ort-plugin, each as NAME.qop.onnx (QOperator, from
`octet quantize --format qop`), NAME.octet.onnx (the same in domain ai.octet) and NAME.x.npy.

  fmnist_cnn   the shared Fashion-MNIST CNN, batch 8 of its calibration samples
  resnet18     a ResNet-18-shaped float network with random (He) weights: 7x7/2 stem, max pool,
               4 stages x 2 basic blocks (64..512 channels, 1x1/2 projections), global average
               pool, 1000-way Gemm; input 1x3xSxS, calibrated on 16 random images

usage: make-bench-models.py OUTDIR OCTET_EXE MODELS_DIR [SIZE]   (SIZE default 224)
"""
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "tests", "ort-host"))
make_octet = __import__("make-octet-model")


class Net:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits, self.n = [], [], 0

    def name(self, hint):
        self.n += 1
        return "%s%d" % (hint, self.n)

    def conv(self, x, cin, cout, k, stride, relu):
        w = (self.rng.standard_normal((cout, cin, k, k)) * np.sqrt(2.0 / (cin * k * k))).astype(np.float32)
        b = (self.rng.standard_normal(cout) * 0.05).astype(np.float32)
        wn, bn, y = self.name("w"), self.name("b"), self.name("conv")
        self.inits += [numpy_helper.from_array(w, wn), numpy_helper.from_array(b, bn)]
        p = k // 2
        self.nodes.append(helper.make_node("Conv", [x, wn, bn], [y], name=y, kernel_shape=[k, k],
                                           strides=[stride, stride], pads=[p, p, p, p]))
        return self.relu(y) if relu else y

    def relu(self, x):
        y = self.name("relu")
        self.nodes.append(helper.make_node("Relu", [x], [y], name=y))
        return y

    def add(self, a, b):
        y = self.name("add")
        self.nodes.append(helper.make_node("Add", [a, b], [y], name=y))
        return y


def resnet18(path, size):
    net = Net(18)
    x = net.conv("input", 3, 64, 7, 2, True)
    net.nodes.append(helper.make_node("MaxPool", [x], ["pool"], kernel_shape=[3, 3], strides=[2, 2],
                                      pads=[1, 1, 1, 1]))
    x, cin = "pool", 64
    for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        for block in range(2):
            s = stride if block == 0 else 1
            y = net.conv(x, cin, cout, 3, s, True)
            y = net.conv(y, cout, cout, 3, 1, False)
            short = net.conv(x, cin, cout, 1, s, False) if (s != 1 or cin != cout) else x
            x = net.relu(net.add(y, short))
            cin = cout
    net.nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap"]))
    net.nodes.append(helper.make_node("Flatten", ["gap"], ["flat"]))
    fc = (net.rng.standard_normal((1000, 512)) * np.sqrt(1.0 / 512)).astype(np.float32)
    net.inits += [numpy_helper.from_array(fc, "fc_w"),
                  numpy_helper.from_array(np.zeros(1000, np.float32), "fc_b")]
    net.nodes.append(helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], transB=1))
    graph = helper.make_graph(net.nodes, "resnet18-random",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, size, size])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 1000])],
                              net.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, path)


def quantize(octet, float_model, calib, out, name, x):
    qop = os.path.join(out, name + ".qop.onnx")
    subprocess.run([octet, "quantize", float_model, qop, "--data", calib, "--format", "qop",
                    "--samples", "16"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    model = onnx.load(qop)
    moved = make_octet.to_octet(model, os.environ.get("OCTET_BENCH_ALL") == "1")
    onnx.save(model, os.path.join(out, name + ".octet.onnx"))
    np.save(os.path.join(out, name + ".x.npy"), x)
    print("%s: %d nodes in ai.octet" % (name, moved))


def main(argv):
    if len(argv) not in (4, 5):
        sys.stderr.write(__doc__)
        return 2
    out, octet, models = argv[1], argv[2], argv[3]
    size = int(argv[4]) if len(argv) == 5 else 224
    os.makedirs(out, exist_ok=True)
    calib = os.path.join(models, "fmnist_cnn.calib.npy")
    quantize(octet, os.path.join(models, "fmnist_cnn.onnx"), calib, out, "fmnist_cnn",
             np.load(calib)[:8].astype(np.float32))
    rn = os.path.join(out, "resnet18.float.onnx")
    resnet18(rn, size)
    rng = np.random.default_rng(7)
    images = rng.standard_normal((16, 3, size, size)).astype(np.float32)
    rcalib = os.path.join(out, "resnet18.calib.npy")
    np.save(rcalib, images)
    quantize(octet, rn, rcalib, out, "resnet18", images[:1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
