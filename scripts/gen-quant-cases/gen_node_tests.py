#!/usr/bin/python3
"""Packs ONNX's own quantization node tests (libonnx-testdata) into octet's case fixture format,
so tests/ops/quant checks them without a model loader:
  gen_node_tests.py [NODE_DIR] [FIXTURE]
"""
import glob
import os
import struct
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_cases import NP2ONNX, w_attr, w_str, w_tensor  # noqa: E402

PATTERNS = ["quantizelinear", "dequantizelinear", "dynamicquantizelinear", "matmulinteger",
            "convinteger", "qlinearmatmul", "qlinearconv"]


def wanted(name):
    n = name[len("test_"):]
    return any(n.startswith(p) or n.startswith("basic_" + p) for p in PATTERNS) and "expanded" not in n


def main():
    node_dir = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/libonnx-testdata/data/node"
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        os.path.dirname(__file__), "../../tests/ops/quant/data/onnx-node-cases.bin")
    cases = []
    for d in sorted(glob.glob(os.path.join(node_dir, "test_*"))):
        name = os.path.basename(d)
        if not wanted(name):
            continue
        m = onnx.load(os.path.join(d, "model.onnx"))
        node = m.graph.node[0]
        opset = next(o.version for o in m.opset_import if o.domain in ("", "ai.onnx"))
        for ds in sorted(glob.glob(os.path.join(d, "test_data_set_*"))):
            ins = []
            k = 0
            for n in node.input:
                if n == "":
                    ins.append(None)
                    continue
                t = onnx.TensorProto()
                t.ParseFromString(open(os.path.join(ds, f"input_{k}.pb"), "rb").read())
                ins.append(numpy_helper.to_array(t))
                k += 1
            outs = []
            for j in range(len(node.output)):
                t = onnx.TensorProto()
                t.ParseFromString(open(os.path.join(ds, f"output_{j}.pb"), "rb").read())
                outs.append(numpy_helper.to_array(t))
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            attrs = {k2: (v.decode() if isinstance(v, bytes) else v) for k2, v in attrs.items()}
            cases.append((name, node, opset, attrs, ins, outs))
    with open(out, "wb") as f:
        f.write(b"OQF1" + struct.pack("<I", len(cases)))
        for i, (name, node, opset, attrs, ins, outs) in enumerate(cases):
            f.write(struct.pack("<IB", i, 3))
            w_str(f, node.op_type)
            w_str(f, node.domain)
            f.write(struct.pack("<i", opset))
            f.write(struct.pack("<I", len(attrs)))
            for k2, v in attrs.items():
                w_attr(f, k2, v)
            f.write(struct.pack("<I", len(ins)))
            for a in ins:
                f.write(struct.pack("<B", 1 if a is not None else 0))
                if a is not None:
                    a = np.ascontiguousarray(a)
                    w_tensor(f, NP2ONNX[a.dtype], list(a.shape), a.tobytes())
            f.write(struct.pack("<I", len(outs)))
            for a in outs:
                a = np.ascontiguousarray(a)
                w_tensor(f, NP2ONNX[a.dtype], list(a.shape), a.tobytes())
            print(f"{i:3d} {name} ({node.op_type}, opset {opset})")
    print(f"wrote {len(cases)} cases to {out}")


if __name__ == "__main__":
    main()
