"""Small PyTorch models for the ONNX tests, and the export that keeps their parameter
names (TorchScript exporter, no constant folding, so batch norm is not fused away)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2),
                                      nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(16 * 5 * 5, 32), nn.ReLU(), nn.Linear(32, 10))

    def forward(self, x):
        return self.head(self.features(x))


class Block(nn.Module):
    def __init__(self, channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(channels // stride, channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.skip = (nn.Sequential(nn.Conv2d(channels // stride, channels, 1, stride=stride, bias=False),
                                   nn.BatchNorm2d(channels)) if stride > 1 else nn.Identity())

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.skip(x))


class ResNet(nn.Module):
    """A small ResNet: stem, two residual stages, global pooling, a linear head."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.stage1 = Block(8)
        self.stage2 = Block(16, stride=2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.stage2(self.stage1(self.stem(x)))), 1))


class Separable(nn.Module):
    """Depthwise-separable convolutions (groups = channels), then a pointwise one."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU6(),
                                  nn.Conv2d(6, 6, 3, padding=1, groups=6), nn.BatchNorm2d(6), nn.ReLU(),
                                  nn.Conv2d(6, 12, 1), nn.LeakyReLU(0.1),
                                  nn.Conv2d(12, 12, 3, stride=2, groups=3), nn.Sigmoid())
        self.fc = nn.Linear(12 * 3 * 3, 4)

    def forward(self, x):
        return self.fc(self.body(x).flatten(1))


class Recurrent(nn.Module):
    def __init__(self, cell="lstm"):
        super().__init__()
        kind = nn.LSTM if cell == "lstm" else nn.GRU
        self.rnn = kind(5, 7, batch_first=True, bidirectional=cell != "lstm")
        self.fc = nn.Linear(7 * (1 if cell == "lstm" else 2), 3)

    def forward(self, x):
        y = self.rnn(x)[0]
        return self.fc(y[:, -1])


class Encoder(nn.Module):
    """torch's TransformerEncoderLayer (post-norm, ReLU) computed from its own modules,
    attention asked for its weights so that the TorchScript exporter can trace it."""

    def __init__(self):
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.1, batch_first=True)

    def forward(self, x):
        layer = self.layer
        attended = layer.self_attn(x, x, x, need_weights=True)[0]
        x = layer.norm1(x + layer.dropout1(attended))
        feed = layer.linear2(layer.dropout(layer.activation(layer.linear1(x))))
        return layer.norm2(x + layer.dropout2(feed))


def mlp():
    return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 16), nn.GELU(), nn.Linear(16, 4))


MODELS = {
    "mlp": (mlp, (8, 6)),
    "lenet": (LeNet, (2, 1, 28, 28)),
    "resnet": (ResNet, (2, 3, 16, 16)),
    "separable": (Separable, (2, 3, 8, 8)),
    "lstm": (lambda: Recurrent("lstm"), (2, 6, 5)),
    "gru": (lambda: Recurrent("gru"), (2, 6, 5)),
    "encoder": (Encoder, (2, 5, 16)),
}


def make(name: str, seed: int = 0) -> tuple[nn.Module, np.ndarray]:
    """The model (in eval mode, parameters and batch norm statistics made non-trivial)
    and an input."""
    factory, shape = MODELS[name]
    torch.manual_seed(seed)
    model = factory()
    with torch.no_grad():
        for parameter in model.parameters():  # no two equal (the exporter would merge them)
            parameter.add_(0.05 * torch.randn_like(parameter))
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 1.5)
    model.eval()
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return model, x


def export(model: nn.Module, x: np.ndarray, path: Path, opset: int = 17, dynamic_batch: bool = False) -> Path:
    """torch.onnx.export with the TorchScript exporter (torch 2.13's default, dynamo,
    needs onnxscript), parameter names kept."""
    axes = {"x": {0: "batch"}, "y": {0: "batch"}} if dynamic_batch else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.from_numpy(x),), str(path), dynamo=False, opset_version=opset,
                          input_names=["x"], output_names=["y"], do_constant_folding=False,
                          dynamic_axes=axes)
    return path
