#!/usr/bin/python3
"""make-qat-fixture.py — trains a tiny CNN with PyTorch quantization-aware training and exports
it as a QDQ ONNX model (opset 13), the way users bring QAT models to octet.

    /usr/bin/python3 scripts/make-qat-fixture/make-qat-fixture.py [OUT_DIR]

Needs python3-torch 1.13 (Debian: apt-get install python3-torch libopenblas0-pthread).
Writes OUT_DIR/qat_cnn.onnx and OUT_DIR/qat_cnn.x.npy (a few inputs); default OUT_DIR is
tests/quantize/fixtures. Synthetic data (no download): the label is the quadrant of the
brightest blob, so a few steps of training give a model with meaningful, non-trivial ranges.
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.ao.quantization as tq

ENGINE = "qnnpack"
SIZE = 16


class TinyCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant = tq.QuantStub()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.skip = nn.quantized.FloatFunctional()  # residual add: QLinearAdd after lowering
        self.conv3 = nn.Conv2d(8, 16, 1)
        self.relu3 = nn.ReLU()
        self.pool2 = nn.AvgPool2d(4)  # 8x8 -> 2x2: keeps where the blob is
        self.fc = nn.Linear(64, 4)
        self.dequant = tq.DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        x = self.pool(self.relu1(self.conv1(x)))
        x = self.skip.add(x, self.relu2(self.conv2(x)))
        x = self.relu3(self.conv3(x))
        x = torch.flatten(self.pool2(x), 1)
        return self.dequant(self.fc(x))


def batch(rng, n):
    x = rng.normal(0.0, 0.3, size=(n, 1, SIZE, SIZE)).astype(np.float32)
    y = rng.integers(0, 4, size=n)
    h = SIZE // 2
    for i in range(n):
        r0, c0 = (y[i] // 2) * h, (y[i] % 2) * h
        rr, cc = rng.integers(1, h - 3, size=2)
        x[i, 0, r0 + rr:r0 + rr + 3, c0 + cc:c0 + cc + 3] += 2.0
    return torch.from_numpy(x), torch.from_numpy(y)


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "quantize", "fixtures")
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    torch.backends.quantized.engine = ENGINE
    model = TinyCNN()
    model.train()
    model.qconfig = tq.get_default_qat_qconfig(ENGINE, version=0)
    tq.fuse_modules_qat(model, [["conv1", "relu1"], ["conv2", "relu2"], ["conv3", "relu3"]], inplace=True)
    tq.prepare_qat(model, inplace=True)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for step in range(120):
        x, y = batch(rng, 32)
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 40 == 0 or step == 119:
            print(f"step {step} loss {loss.item():.3f}")
    model.eval()
    x, y = batch(rng, 256)
    with torch.no_grad():
        acc = (model(x).argmax(1) == y).float().mean().item()
    qmodel = tq.convert(model)
    with torch.no_grad():
        qacc = (qmodel(x).argmax(1) == y).float().mean().item()
    path = os.path.join(out_dir, "qat_cnn.onnx")
    sample = x[:1]
    torch.onnx.export(qmodel, sample, path, opset_version=13, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    np.save(os.path.join(out_dir, "qat_cnn.x.npy"), x[:16].numpy())
    print(f"QAT accuracy (fake-quant) {acc:.3f}, converted {qacc:.3f}; wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
