"""Training losses as small modules picked by name, as torchdistill does.

Every loss is called as `loss(student_logits, targets, teacher_logits=None)` and returns
a scalar. Targets are class indices; `UNLABELLED` (-1) marks a window nobody labelled
(site footage the teacher pseudo-labels): it counts for the KD term, never for CE.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from shared.labels import UNLABELLED

LOSSES: dict[str, type[nn.Module]] = {}


def register_loss(name: str) -> Callable[[type[nn.Module]], type[nn.Module]]:
    def add(cls: type[nn.Module]) -> type[nn.Module]:
        LOSSES[name] = cls
        return cls

    return add


def build_loss(name: str, **kwargs: float) -> nn.Module:
    """The loss registered as `name`, built with `kwargs` (a misspelt one is a TypeError)."""
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; known: {sorted(LOSSES)}")
    return LOSSES[name](**kwargs)


def labelled_cross_entropy(
    logits: torch.Tensor, targets: torch.Tensor, label_smoothing: float = 0.0
) -> torch.Tensor:
    """Cross-entropy averaged over the labelled rows only; 0 (still in the graph) if none is.

    `F.cross_entropy(ignore_index=-1)` would give NaN on an all-unlabelled batch.
    """
    if targets.shape != logits.shape[:1]:
        raise ValueError(
            f"targets {tuple(targets.shape)} do not match logits {tuple(logits.shape)}"
        )
    labelled = targets != UNLABELLED
    if not bool(labelled.any()):
        return logits.sum() * 0.0
    return F.cross_entropy(logits[labelled], targets[labelled], label_smoothing=label_smoothing)


def distillation_kl(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float
) -> torch.Tensor:
    """T^2 * KL(softmax(teacher/T) || softmax(student/T)), batch-mean over all rows.

    Hinton et al. 2015, "Distilling the Knowledge in a Neural Network", sec. 2: the soft
    targets' gradients scale as 1/T^2, so multiplying by T^2 keeps their weight against
    the hard-label term unchanged when T changes. The teacher is frozen: no gradient to it.
    """
    if teacher_logits.shape != student_logits.shape:
        raise ValueError(
            f"teacher logits {tuple(teacher_logits.shape)} do not match "
            f"student logits {tuple(student_logits.shape)}"
        )
    log_p_student = F.log_softmax(student_logits / temperature, dim=1)
    log_p_teacher = F.log_softmax(teacher_logits.detach() / temperature, dim=1)
    kl = F.kl_div(log_p_student, log_p_teacher, reduction="batchmean", log_target=True)
    return kl * temperature**2


@register_loss("ce")
class CELoss(nn.Module):
    """Plain cross-entropy on the labelled rows; ignores any teacher logits."""

    def __init__(self, label_smoothing: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        self.label_smoothing = label_smoothing

    def forward(
        self,
        student_logits: torch.Tensor,
        targets: torch.Tensor,
        teacher_logits: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return labelled_cross_entropy(student_logits, targets, self.label_smoothing)


@register_loss("kd")
class KDLoss(nn.Module):
    """lam * CE(student, y) + (1 - lam) * T^2 * KL(teacher_T || student_T) (Hinton et al. 2015).

    Form and T^2 factor as torchdistill's KDLoss (torchdistill/losses/mid_level.py).
    """

    def __init__(self, temperature: float = 4.0, lam: float = 0.1) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        if not 0.0 <= lam <= 1.0:
            raise ValueError(f"lam must be in [0, 1], got {lam}")
        self.temperature = temperature
        self.lam = lam

    def forward(
        self,
        student_logits: torch.Tensor,
        targets: torch.Tensor,
        teacher_logits: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if teacher_logits is None:
            raise ValueError("the kd loss needs teacher_logits")
        ce = labelled_cross_entropy(student_logits, targets)
        kl = distillation_kl(student_logits, teacher_logits, self.temperature)
        return self.lam * ce + (1.0 - self.lam) * kl
