"""The two video classifiers Vigil trains: a (2+1)D residual teacher and a separable student.

Both take a float32 clip (N, 3, T, H, W) as made by `shared.preprocess.window_to_input`
and return logits (N, num_classes). Both factor each 3D convolution into a spatial
(1 x k x k) and a temporal (k x 1 x 1) one, the "(2+1)D" block of Tran et al. 2018,
"A Closer Look at Spatiotemporal Convolutions for Action Recognition": fewer
parameters than a full 3D kernel and an extra non-linearity in between.

Everything here exports to ONNX as plain Conv / BatchNormalization / Relu / MaxPool /
ReduceMean / Gemm, which onnxruntime runs (and quantizes) well on a CPU.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

ARCHS: dict[str, Callable[[ModelConfig], nn.Module]] = {}


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a model: stored in every checkpoint (nanoGPT's model_args)."""

    arch: str
    num_classes: int
    frames: int
    height: int
    width: int
    channels: tuple[int, ...]
    dropout: float = 0.2
    motion: bool = False  # feed frame differences beside the frames (see MotionStem)
    # Skeleton models read (features, T) per window instead of pixels (cloud.training.pose.model);
    # 0 for the pixel models. Older checkpoints without the field load as pixel models.
    features: int = 0

    def __post_init__(self) -> None:
        if self.num_classes < 2:
            raise ValueError(f"a classifier needs at least two classes, got {self.num_classes}")
        if min(self.frames, self.height, self.width) < 1:
            raise ValueError(f"bad input size {self.frames}x{self.height}x{self.width}")
        if not self.channels or min(self.channels) < 1:
            raise ValueError(f"channels must be positive per stage, got {self.channels}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.features < 0:
            raise ValueError(f"features must be >= 0, got {self.features}")

    @property
    def stem_channels(self) -> int:
        return 6 if self.motion else 3

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One window's shape without the batch: (3, T, H, W), or (features, T) for a skeleton."""
        if self.features:
            return (self.features, self.frames)
        return (3, self.frames, self.height, self.width)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["channels"] = list(self.channels)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        return cls(**{**d, "channels": tuple(int(c) for c in d["channels"])})


class MotionStem(nn.Module):
    """Concatenate each frame with its difference from the previous one (6 channels).

    Actions are motion; with a few dozen clips a small 3D CNN learns appearance (rooms,
    clothes) faster than motion and fails on a new room. Handing it the temporal
    difference explicitly is the cheap half of a two-stream network (Simonyan &
    Zisserman, NeurIPS 2014): a Sub, a Pad and a Concat in ONNX.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        diff = x[:, :, 1:] - x[:, :, :-1]
        diff = torch.cat([torch.zeros_like(x[:, :, :1]), diff], dim=2)
        return torch.cat([x, diff], dim=1)


def input_stem(cfg: ModelConfig) -> nn.Module:
    return MotionStem() if cfg.motion else nn.Identity()


def teacher_config(num_classes: int, frames: int = 16, size: int = 112) -> ModelConfig:
    """~1.5M parameters, ~0.5G MACs: ~19 clips/s training (batch 8) on 2 CPU cores."""
    return ModelConfig("cnn3d", num_classes, frames, size, size, channels=(32, 64, 128, 224))


def student_config(num_classes: int, frames: int = 8, size: int = 32) -> ModelConfig:
    """~110k parameters, ~5M MACs: under a millisecond per window on one CPU thread.

    The first stage (8x16x16) is kept thin: in onnxruntime 1.32 (x86, 1 thread) a
    depthwise (1,3,3) Conv3d over 32x8x16x16 took ~190 us, ~2.5x the same depthwise
    work as a Conv2d, and with 32 channels there the student took ~2 ms per window.
    """
    return ModelConfig("student", num_classes, frames, size, size, channels=(16, 48, 112, 224))


def register_arch(name: str) -> Callable[[type[nn.Module]], type[nn.Module]]:
    def add(cls: type[nn.Module]) -> type[nn.Module]:
        ARCHS[name] = cls
        return cls

    return add


def build_model(cfg: ModelConfig) -> nn.Module:
    """A freshly initialised model for `cfg.arch` (in train mode)."""
    if cfg.arch not in ARCHS:
        raise ValueError(f"unknown architecture {cfg.arch!r}; known: {sorted(ARCHS)}")
    return ARCHS[cfg.arch](cfg)


def conv_bn_relu(
    cin: int,
    cout: int,
    kernel: tuple[int, int, int],
    stride: tuple[int, int, int] = (1, 1, 1),
    groups: int = 1,
    relu: bool = True,
) -> nn.Sequential:
    """Conv3d (no bias: BatchNorm follows) + BatchNorm3d (+ ReLU), 'same' padding."""
    padding = (kernel[0] // 2, kernel[1] // 2, kernel[2] // 2)
    layers: list[nn.Module] = [
        nn.Conv3d(cin, cout, kernel, stride, padding, groups=groups, bias=False),
        nn.BatchNorm3d(cout),
    ]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def stage_stride(stage: int, frames_left: int) -> tuple[int, int, int]:
    """Halve space at every stage but the first; halve time too while there are >= 2 frames."""
    if stage == 0:
        return (1, 1, 1)
    return (2 if frames_left >= 2 else 1, 2, 2)


class ClassifierHead(nn.Module):
    """Global average pool over (T, H, W), dropout, linear: ReduceMean + Gemm in ONNX."""

    def __init__(self, cin: int, num_classes: int, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(x.mean(dim=(2, 3, 4))))


# --- teacher -------------------------------------------------------------------------


class Conv2Plus1D(nn.Sequential):
    """Spatial (1,3,3) conv then temporal (3,1,1) conv, each with BatchNorm (Tran et al. 2018)."""

    def __init__(self, cin: int, cout: int, stride: tuple[int, int, int], relu: bool) -> None:
        t, s, _ = stride
        super().__init__(
            conv_bn_relu(cin, cout, (1, 3, 3), (1, s, s)),
            conv_bn_relu(cout, cout, (3, 1, 1), (t, 1, 1), relu=relu),
        )


class ResidualBlock(nn.Module):
    """Two (2+1)D convs with an identity (or strided 1x1x1 projection) shortcut (He et al. 2016)."""

    def __init__(self, cin: int, cout: int, stride: tuple[int, int, int]) -> None:
        super().__init__()
        self.body = nn.Sequential(
            Conv2Plus1D(cin, cout, stride, relu=True), Conv2Plus1D(cout, cout, (1, 1, 1), False)
        )
        self.shortcut: nn.Module = nn.Identity()
        if cin != cout or stride != (1, 1, 1):
            self.shortcut = conv_bn_relu(cin, cout, (1, 1, 1), stride, relu=False)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.shortcut(x))


@register_arch("cnn3d")
class R2Plus1DNet(nn.Module):
    """The teacher: a cheap strided stem, then one residual (2+1)D block per stage.

    The stem halves time and quarters space before any wide layer (as R(2+1)D's stem
    plus ResNet's max-pool do), because most of a video net's cost sits at full
    resolution: 16x112x112 becomes 8x28x28 here.
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        c0 = cfg.channels[0]
        self.stem = nn.Sequential(
            input_stem(cfg),
            conv_bn_relu(cfg.stem_channels, c0, (1, 5, 5), (1, 2, 2)),
            conv_bn_relu(c0, c0, (3, 1, 1), (2 if cfg.frames >= 2 else 1, 1, 1)),
            nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)),
        )
        blocks, cin, frames = [], c0, max(cfg.frames // 2, 1)
        for i, cout in enumerate(cfg.channels):
            stride = stage_stride(i, frames)
            blocks.append(ResidualBlock(cin, cout, stride))
            cin, frames = cout, (frames + stride[0] - 1) // stride[0]
        self.stages = nn.Sequential(*blocks)
        self.head = ClassifierHead(cin, cfg.num_classes, cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


# --- student -------------------------------------------------------------------------


class SeparableBlock(nn.Module):
    """Depthwise spatial (1,3,3) + depthwise temporal (3,1,1) + pointwise 1x1x1 conv.

    A MobileNet-style (Howard et al. 2017) factorisation of a (2+1)D conv: the two
    depthwise convs see space and time, the pointwise conv mixes channels and holds
    almost all the weights. Identity shortcut when the shape is unchanged.
    """

    def __init__(self, cin: int, cout: int, stride: tuple[int, int, int]) -> None:
        super().__init__()
        t, s, _ = stride
        self.body = nn.Sequential(
            conv_bn_relu(cin, cin, (1, 3, 3), (1, s, s), groups=cin, relu=False),
            conv_bn_relu(cin, cin, (3, 1, 1), (t, 1, 1), groups=cin),
            conv_bn_relu(cin, cout, (1, 1, 1), relu=False),
        )
        self.residual = cin == cout and stride == (1, 1, 1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return self.relu(y + x if self.residual else y)


@register_arch("student")
class SeparableNet(nn.Module):
    """The student: a strided full-conv stem, then two separable blocks per stage."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        c0 = cfg.channels[0]
        self.stem = nn.Sequential(
            input_stem(cfg), conv_bn_relu(cfg.stem_channels, c0, (1, 3, 3), (1, 2, 2))
        )
        blocks: list[nn.Module] = []
        cin, frames = c0, cfg.frames
        for i, cout in enumerate(cfg.channels):
            stride = stage_stride(i, frames)
            blocks += [SeparableBlock(cin, cout, stride), SeparableBlock(cout, cout, (1, 1, 1))]
            cin, frames = cout, (frames + stride[0] - 1) // stride[0]
        self.stages = nn.Sequential(*blocks)
        self.head = ClassifierHead(cin, cfg.num_classes, cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


# --- size and cost -------------------------------------------------------------------


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def layer_macs(module: nn.Module, output: torch.Tensor) -> int:
    """Multiply-accumulates of one Conv1d, Conv3d or Linear call (bias adds not counted)."""
    if isinstance(module, nn.Conv1d | nn.Conv3d):
        per_output = module.in_channels // module.groups
        for k in module.kernel_size:
            per_output *= k
        return output.numel() * per_output
    if isinstance(module, nn.Linear):
        return output.numel() * module.in_features
    return 0


@torch.no_grad()
def count_macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """MACs of one forward pass on a zero input of `input_shape` (batch included)."""
    total = 0

    def hook(module: nn.Module, _inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        total += layer_macs(module, output)

    layers = [m for m in model.modules() if isinstance(m, nn.Conv1d | nn.Conv3d | nn.Linear)]
    handles = [m.register_forward_hook(hook) for m in layers]
    was_training = model.training
    try:
        model.eval()
        param = next(model.parameters())
        model(torch.zeros(input_shape, dtype=param.dtype, device=param.device))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return total
