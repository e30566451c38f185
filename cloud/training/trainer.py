"""A training loop you can read top to bottom (after nanoGPT's train.py).

Seeded; AdamW with linear warm-up then cosine decay; class-balanced sampling; early
stopping on validation macro-F1 with the best weights kept; an epoch checkpoint to
resume from; a JSON line and a progress bar per epoch. Runs under `torchrun` too: each
process trains on its own share of the samples (gloo on CPU, NCCL on GPU) and every
process evaluates the whole validation split, so all ranks take the same decisions.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, Sampler, WeightedRandomSampler
from tqdm import tqdm

from cloud.training.evaluation import EvalResult, evaluate_logits
from cloud.training.losses import build_loss
from cloud.training.windows import TwoViewWindows
from shared.files import staged_file
from shared.labels import LabelSet

log = logging.getLogger(__name__)


class TrainingError(RuntimeError):
    """Training cannot go on (a NaN loss, no data); nothing half-written is kept."""


@dataclass
class TrainConfig:
    """Everything that decides a training run; saved inside every checkpoint."""

    epochs: int = 30
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 0.05
    warmup_epochs: int = 2
    patience: int = 8
    label_smoothing: float = 0.0
    balanced: bool = True
    loss: str = "ce"
    temperature: float = 4.0
    lam: float = 0.1
    seed: int = 0
    device: str = "cpu"
    workers: int = 0  # DataLoader worker processes (0: decode-free windows in-process)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def loss_kwargs(self) -> dict[str, float]:
        if self.loss == "kd":
            return {"temperature": self.temperature, "lam": self.lam}
        return {"label_smoothing": self.label_smoothing}


@dataclass
class TrainResult:
    state_dict: dict[str, torch.Tensor]
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    best_val_f1: float = -1.0
    seconds: float = 0.0


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))


def world() -> tuple[int, int]:
    """(rank, world size); (0, 1) outside torchrun."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def make_sampler(labels: np.ndarray, cfg: TrainConfig, epoch: int) -> Sampler[int]:
    """Class-balanced draws (falls are rare in real data), this rank's share of them."""
    rank, size = world()
    labelled = labels >= 0
    counts = np.bincount(labels[labelled], minlength=max(int(labels.max()) + 1, 1))
    weights = np.ones(len(labels), dtype=np.float64)
    if cfg.balanced and labelled.any():
        weights[labelled] = 1.0 / counts[labels[labelled]]
        weights[~labelled] = weights[labelled].mean()
    generator = torch.Generator().manual_seed(cfg.seed * 1_000_003 + epoch * 101 + rank)
    # Without balancing: a plain shuffle (uniform weights, no replacement).
    return WeightedRandomSampler(weights.tolist(), len(labels) // size, cfg.balanced, generator)


def lr_factor(step: int, warmup_steps: int, total_steps: int) -> float:
    """Linear warm-up then cosine decay to 0 (Loshchilov & Hutter, SGDR, 2017)."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


@torch.inference_mode()
def predict_logits(
    model: nn.Module, data: TwoViewWindows, view: str, batch: int = 64, workers: int = 0
) -> np.ndarray:
    """Logits of every window of `data` in order (no augmentation beyond the dataset's)."""
    model.eval()
    device = next(model.parameters()).device
    data.with_views(view)
    workers = 0 if view in data.banks else workers
    loader = DataLoader(data, batch_size=batch, shuffle=False, num_workers=workers)
    return torch.cat([model(b[view].to(device)).float().cpu() for b in loader]).numpy()


def evaluate(
    model: nn.Module, data: TwoViewWindows, view: str, labels: LabelSet, workers: int = 0
) -> EvalResult:
    logits = predict_logits(model, data, view, workers=workers)
    return evaluate_logits(logits, data.labels(), data.clip_ids(), labels)


def teacher_logits_for(
    batch: dict[str, torch.Tensor], bank: torch.Tensor | None, draws: int
) -> torch.Tensor | None:
    """The cached teacher logits of this batch's (window, augmentation draw) pairs."""
    if bank is None:
        return None
    return bank[batch["index"] * draws + batch["draw"]]


def train_epoch(
    model: nn.Module,
    data: TwoViewWindows,
    view: str,
    loss_fn: nn.Module,
    optimizer: torch.optim.Optimizer,
    schedule: Callable[[], None],
    cfg: TrainConfig,
    epoch: int,
    bank: torch.Tensor | None,
) -> dict[str, float]:
    model.train()
    data.set_epoch(epoch)
    data.with_views(view)
    loader = DataLoader(
        data,
        batch_size=cfg.batch_size,
        sampler=make_sampler(data.labels(), cfg, epoch),
        num_workers=0 if view in data.banks else cfg.workers,  # banked: nothing to compute
        pin_memory=cfg.device.startswith("cuda"),
    )
    total, correct, seen, labelled = 0.0, 0, 0, 0
    bar = tqdm(
        loader,
        desc=f"{view} epoch {epoch + 1}/{cfg.epochs}",
        leave=False,
        disable=world()[0] != 0 or None,  # None: off when stderr is not a terminal
    )
    for batch in bar:
        batch = {k: v.to(cfg.device, non_blocking=True) for k, v in batch.items()}
        logits = model(batch[view])
        loss = loss_fn(logits, batch["label"], teacher_logits_for(batch, bank, data.num_draws))
        if not torch.isfinite(loss):
            raise TrainingError(f"loss became {loss.item()} at epoch {epoch + 1}; lower --lr?")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        schedule()
        mask = batch["label"] >= 0
        total += loss.item() * len(logits)
        seen += len(logits)
        labelled += int(mask.sum())
        correct += int((logits.argmax(1)[mask] == batch["label"][mask]).sum())
        bar.set_postfix(loss=f"{total / seen:.3f}", acc=f"{correct / max(labelled, 1):.3f}")
    return {"train_loss": total / max(seen, 1), "train_acc": correct / max(labelled, 1)}


def cpu_copy(model: nn.Module) -> dict[str, torch.Tensor]:
    """A snapshot of the weights on the CPU (checkpoints load anywhere)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def save_resume_state(
    path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, state: dict[str, Any]
) -> None:
    """Write the state a killed run resumes from (atomic: temp file then rename)."""
    with staged_file(path) as tmp:
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), **state}, tmp)


def train_model(
    model: nn.Module,
    view: str,
    train_data: TwoViewWindows,
    val_data: TwoViewWindows,
    labels: LabelSet,
    cfg: TrainConfig,
    teacher_bank: torch.Tensor | None = None,
    resume_path: Path | None = None,
    log_path: Path | None = None,
    name: str | None = None,
) -> TrainResult:
    """Train `model` on `view` windows; returns the best weights by validation macro-F1."""
    if len(train_data) == 0:
        raise TrainingError("no training windows")
    seed_everything(cfg.seed)
    if cfg.loss == "kd" and teacher_bank is None:
        raise TrainingError("KD training needs the teacher's logits")
    loss_fn = build_loss(cfg.loss, **cfg.loss_kwargs())
    model.to(cfg.device)
    train_model_ = _maybe_ddp(model)
    if teacher_bank is not None:
        teacher_bank = teacher_bank.to(cfg.device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(len(train_data) / world()[1] / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(s, steps_per_epoch * cfg.warmup_epochs, total)
    )
    result, start, finished = TrainResult(state_dict=cpu_copy(model)), 0, False
    if resume_path is not None and resume_path.exists():
        start, result, finished = _resume(resume_path, model, optimizer, scheduler)
    started = time.monotonic() - result.seconds
    for epoch in range(start, start if finished else cfg.epochs):
        row = train_epoch(
            train_model_,
            train_data,
            view,
            loss_fn,
            optimizer,
            scheduler.step,
            cfg,
            epoch,
            teacher_bank,
        )
        val = evaluate(model, val_data, view, labels, cfg.workers)
        row = {
            "epoch": epoch + 1,
            **row,
            "val_macro_f1": val.macro_f1,
            "val_accuracy": val.accuracy_window,
            "lr": optimizer.param_groups[0]["lr"],
        }
        result.history.append(row)
        _log_epoch(row, name or view, log_path)
        if val.macro_f1 > result.best_val_f1:
            result.best_val_f1, result.best_epoch = val.macro_f1, epoch + 1
            result.state_dict = cpu_copy(model)
        result.seconds = time.monotonic() - started
        stop = epoch + 1 - result.best_epoch >= cfg.patience
        if resume_path is not None and world()[0] == 0:
            done = stop or epoch + 1 == cfg.epochs
            state = _resume_fields(result, epoch, scheduler, done)
            save_resume_state(resume_path, model, optimizer, state)
        if stop:
            log.info("%s: early stop at epoch %d (best %d)", view, epoch + 1, result.best_epoch)
            break
    return result


def _resume_fields(
    result: TrainResult, epoch: int, scheduler: Any, finished: bool
) -> dict[str, Any]:
    """What a killed run needs to go on exactly as if it had not stopped.

    The global torch RNG (dropout draws from it) is saved too; the data's draws are
    seeded by epoch already.
    """
    return {
        "epoch": epoch + 1,
        "finished": finished,
        "rng": torch.get_rng_state(),
        "scheduler": scheduler.state_dict(),
        "best_state": result.state_dict,
        "history": result.history,
        "best_epoch": result.best_epoch,
        "best_val_f1": result.best_val_f1,
        "seconds": result.seconds,
    }


def _resume(
    path: Path, model: nn.Module, optimizer: Any, scheduler: Any
) -> tuple[int, TrainResult, bool]:
    """(the next epoch, the result so far, whether training had finished) from `path`."""
    state = torch.load(path, weights_only=False)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    if "rng" in state:  # written since runs resume exactly
        torch.set_rng_state(state["rng"])
    log.info("resuming %s after epoch %d", path, state["epoch"])
    resumed = TrainResult(
        state_dict=state["best_state"],
        history=state["history"],
        best_epoch=state["best_epoch"],
        best_val_f1=state["best_val_f1"],
        seconds=state["seconds"],
    )
    return state["epoch"], resumed, bool(state.get("finished", False))


def _maybe_ddp(model: nn.Module) -> nn.Module:
    if world()[1] == 1:
        return model
    return nn.parallel.DistributedDataParallel(model)


def _log_epoch(row: dict[str, float], name: str, log_path: Path | None) -> None:
    if world()[0] != 0:
        return
    line = json.dumps(
        {"model": name, **{k: round(v, 6) if isinstance(v, float) else v for k, v in row.items()}}
    )
    print(line, flush=True)
    if log_path is not None:
        with log_path.open("a") as f:
            f.write(line + "\n")
