#!/usr/bin/python3
"""make-octet-model.py — rewrites a QOperator model (QLinearConv, QLinearMatMul, com.microsoft
QGemm with int8 output) into octet's ai.octet custom-op form, which ONNX Runtime runs with
octet's kernels once liboctet-kernels.so is registered as a custom-op library.

usage: make-octet-model.py [--all] IN.onnx OUT.onnx

--all also moves com.microsoft's QLinearAdd/Mul/LeakyRelu/Sigmoid/Softmax/GlobalAveragePool/
AveragePool (octet serves them too, bit-exact with ORT's, but ORT's own are faster today).

Nodes keep their inputs, outputs and attributes; only the domain changes. QGemm without
y_scale/y_zero_point (float output) stays com.microsoft: ai.octet::QGemm needs an int8 output.
A stand-in for `octet quantize --format octet` until the CLI has it.
"""
import sys

import onnx
from onnx import helper

OCTET_DOMAIN = "ai.octet"
ONNX_OPS = {"QLinearConv", "QLinearMatMul"}
MS_OPS = {"QLinearAdd", "QLinearMul", "QLinearLeakyRelu", "QLinearSigmoid", "QLinearSoftmax",
          "QLinearGlobalAveragePool", "QLinearAveragePool"}


def convertible(node, everything):
    if node.domain in ("", "ai.onnx") and node.op_type in ONNX_OPS:
        return True
    if node.domain == "com.microsoft" and node.op_type in MS_OPS:
        return everything
    if node.domain == "com.microsoft" and node.op_type == "QGemm":
        ins = list(node.input) + [""] * (9 - len(node.input))
        return ins[7] != "" and ins[8] != ""
    return False


def walk_graphs(graph):
    yield graph
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from walk_graphs(attr.g)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for g in attr.graphs:
                    yield from walk_graphs(g)


def to_octet(model, everything=False):
    """Rewrites model in place; returns how many nodes moved to ai.octet."""
    moved = 0
    for graph in walk_graphs(model.graph):
        for node in graph.node:
            if convertible(node, everything):
                node.domain = OCTET_DOMAIN
                moved += 1
    if moved and not any(o.domain == OCTET_DOMAIN for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(OCTET_DOMAIN, 1))
    return moved


def main(argv):
    everything = "--all" in argv[1:]
    argv = [a for a in argv if a != "--all"]
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    model = onnx.load(argv[1])
    moved = to_octet(model, everything)
    if moved == 0:
        sys.stderr.write("make-octet-model: %s has no node octet serves in ai.octet\n" % argv[1])
        return 1
    onnx.save(model, argv[2])
    print("make-octet-model: %d nodes -> %s" % (moved, OCTET_DOMAIN))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
