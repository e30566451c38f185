"""The skeleton classifier: a small temporal convolution network over a window's pose features.

Input (N, features, T) as made by `cloud.training.pose.features.pose_features`; output logits.
Dilated residual 1D convolutions over time (Bai et al. 2018, "An Empirical Evaluation of
Generic Convolutional and Recurrent Networks for Sequence Modeling"), then mean and max
pooling over time: the max keeps a short event (the drop of a fall) that a mean dilutes.
A BatchNorm on the input puts channels of different units (metres, radians, seconds)
on one scale. It exports to ONNX as Conv / BatchNormalization / Relu / Reduce / Gemm.
"""

from __future__ import annotations

import torch
from torch import nn

from cloud.training.networks import ModelConfig, register_arch

ARCH = "pose_tcn"


def pose_teacher_config(num_classes: int, frames: int, features: int) -> ModelConfig:
    """~60k parameters: trains in well under a minute on a few thousand windows on a CPU."""
    return ModelConfig(
        ARCH, num_classes, frames, 1, 1, channels=(64, 96, 128), dropout=0.3, features=features
    )


class TemporalBlock(nn.Module):
    """Two dilated 'same' Conv1d (k=3) with BatchNorm, a residual shortcut."""

    def __init__(self, cin: int, cout: int, dilation: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv1d(cin, cout, 3, padding=dilation, dilation=dilation, bias=False),
            nn.BatchNorm1d(cout),
            nn.ReLU(inplace=True),
            nn.Conv1d(cout, cout, 3, padding=1, bias=False),
            nn.BatchNorm1d(cout),
        )
        self.shortcut: nn.Module = nn.Identity()
        if cin != cout:
            self.shortcut = nn.Sequential(nn.Conv1d(cin, cout, 1, bias=False), nn.BatchNorm1d(cout))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.shortcut(x))


@register_arch(ARCH)
class PoseTCN(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        if cfg.features < 1:
            raise ValueError("a pose_tcn model needs `features` (channels per instant)")
        self.input_norm = nn.BatchNorm1d(cfg.features)
        blocks, cin = [], cfg.features
        for i, cout in enumerate(cfg.channels):
            blocks.append(TemporalBlock(cin, cout, dilation=2**i))
            cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.dropout = nn.Dropout(cfg.dropout)
        self.fc = nn.Linear(2 * cin, cfg.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(self.input_norm(x))
        pooled = torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1)
        return self.fc(self.dropout(pooled))
