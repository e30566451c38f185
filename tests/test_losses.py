"""KD and CE losses: the Hinton form, the T^2 factor, unlabelled rows, the registry."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from cloud.training.losses import LOSSES, CELoss, KDLoss, build_loss


@pytest.fixture
def logits() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    student = torch.randn(6, 5, generator=gen)
    teacher = 3 * torch.randn(6, 5, generator=gen)
    targets = torch.tensor([0, 1, 2, 3, 4, 0])
    return student, teacher, targets


def manual_kl(student: torch.Tensor, teacher: torch.Tensor, t: float) -> torch.Tensor:
    """sum_i p_t log(p_t / p_s), averaged over rows: KL(teacher || student) at temperature t."""
    p_t = torch.softmax(teacher / t, dim=1)
    log_ratio = torch.log(p_t) - torch.log_softmax(student / t, dim=1)
    return (p_t * log_ratio).sum(dim=1).mean()


def test_registry_has_ce_and_kd() -> None:
    assert LOSSES["ce"] is CELoss
    assert LOSSES["kd"] is KDLoss
    assert isinstance(build_loss("kd", temperature=2.0, lam=0.5), KDLoss)


def test_unknown_loss_name_lists_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown loss 'mse'.*'ce'.*'kd'"):
        build_loss("mse")


def test_misspelt_argument_is_rejected() -> None:
    with pytest.raises(TypeError):
        build_loss("kd", temprature=2.0)


def test_ce_matches_torch(logits: tuple[torch.Tensor, ...]) -> None:
    student, _, targets = logits
    assert torch.equal(CELoss()(student, targets), F.cross_entropy(student, targets))
    smoothed = CELoss(label_smoothing=0.1)(student, targets)
    assert torch.allclose(smoothed, F.cross_entropy(student, targets, label_smoothing=0.1))


def test_kd_with_lam_one_is_exactly_ce(logits: tuple[torch.Tensor, ...]) -> None:
    student, teacher, targets = logits
    kd = KDLoss(temperature=4.0, lam=1.0)(student, targets, teacher)
    assert torch.equal(kd, F.cross_entropy(student, targets))


def test_identical_logits_give_zero_kl(logits: tuple[torch.Tensor, ...]) -> None:
    student, _, targets = logits
    kd = KDLoss(temperature=4.0, lam=0.0)(student, targets, student.clone())
    assert kd.abs().item() < 1e-6


@pytest.mark.parametrize("t", [1.0, 2.0, 4.0])
def test_kl_term_is_t_squared_times_manual_kl(logits: tuple[torch.Tensor, ...], t: float) -> None:
    student, teacher, targets = logits
    kd = KDLoss(temperature=t, lam=0.0)(student, targets, teacher)
    assert torch.allclose(kd, t**2 * manual_kl(student, teacher, t), atol=1e-6)


def test_t_squared_factor_between_t1_and_t2(logits: tuple[torch.Tensor, ...]) -> None:
    student, teacher, targets = logits
    at1 = KDLoss(temperature=1.0, lam=0.0)(student, targets, teacher)
    at2 = KDLoss(temperature=2.0, lam=0.0)(student, targets, teacher)
    ratio = at2 / at1
    expected = 4 * manual_kl(student, teacher, 2.0) / manual_kl(student, teacher, 1.0)
    assert torch.allclose(ratio, expected, atol=1e-5)


def test_kd_mixes_ce_and_kl(logits: tuple[torch.Tensor, ...]) -> None:
    student, teacher, targets = logits
    lam, t = 0.3, 4.0
    kd = KDLoss(temperature=t, lam=lam)(student, targets, teacher)
    ce = F.cross_entropy(student, targets)
    expected = lam * ce + (1 - lam) * t**2 * manual_kl(student, teacher, t)
    assert torch.allclose(kd, expected, atol=1e-6)


def test_unlabelled_rows_are_left_out_of_ce(logits: tuple[torch.Tensor, ...]) -> None:
    student, _, _ = logits
    targets = torch.tensor([0, -1, 2, -1, 4, -1])
    labelled = targets >= 0
    expected = F.cross_entropy(student[labelled], targets[labelled])
    assert torch.allclose(CELoss()(student, targets), expected)


def test_all_unlabelled_gives_zero_ce_and_pure_kl(logits: tuple[torch.Tensor, ...]) -> None:
    student, teacher, _ = logits
    student = student.clone().requires_grad_(True)
    none = torch.full((6,), -1)
    ce = CELoss()(student, none)
    assert ce.item() == 0.0
    ce.backward()  # still part of the graph, so a trainer can call backward on it
    kd = KDLoss(temperature=4.0, lam=0.5)(student, none, teacher)
    assert torch.allclose(kd, 0.5 * 16 * manual_kl(student, teacher, 4.0), atol=1e-6)


def test_kl_uses_all_rows_even_unlabelled(logits: tuple[torch.Tensor, ...]) -> None:
    student, teacher, _ = logits
    some = torch.tensor([0, -1, -1, -1, -1, -1])
    kd = KDLoss(temperature=2.0, lam=0.0)(student, some, teacher)
    assert torch.allclose(kd, 4 * manual_kl(student, teacher, 2.0), atol=1e-6)


def test_kd_without_teacher_logits_errors(logits: tuple[torch.Tensor, ...]) -> None:
    student, _, targets = logits
    with pytest.raises(ValueError, match="teacher_logits"):
        KDLoss()(student, targets)


def test_bad_hyperparameters_error() -> None:
    with pytest.raises(ValueError, match="temperature"):
        KDLoss(temperature=0.0)
    with pytest.raises(ValueError, match="lam"):
        KDLoss(lam=1.5)


def test_gradients_reach_student_not_teacher(logits: tuple[torch.Tensor, ...]) -> None:
    student, teacher, targets = logits
    student = student.clone().requires_grad_(True)
    teacher = teacher.clone().requires_grad_(True)
    KDLoss(temperature=4.0, lam=0.1)(student, targets, teacher).backward()
    assert student.grad is not None and student.grad.abs().sum() > 0
    assert teacher.grad is None
