"""The unlabelled-amount section: KD + unlabelled against the share of held-out video given."""

from __future__ import annotations

from pathlib import Path

from bench.report import plots as report_plots
from bench.report.kd_tables import seed_reports
from bench.report.markdown import fill, mean_std, num, table
from bench.report.results import Record, Results, not_run
from bench.report.twins import SHARES, Family, families, family_table, over_splits, shared_splits
from cloud.training.report import ModelName

SCRATCH, KD, KD_UNLABELED = (
    ModelName.STUDENT_SCRATCH,
    ModelName.STUDENT_KD,
    ModelName.STUDENT_KD_UNLABELED,
)
HEADER = ["share of held-out video", "videos (mean)", "JSON", "clip acc", "fall AUC",
          "no KD: clip acc", "no KD: fall AUC"]  # fmt: skip
MEANS_HEADER = ["share of held-out video", "clip acc", "fall AUC", "clip acc over no KD",
                "fall AUC over no KD"]  # fmt: skip


def unlabeled_amount_section(results: Results, img: Path) -> str:
    """A table and plot per split of each kd result with twins given less unlabelled video."""
    shares = families(results, SHARES)
    if not shares:
        return not_run(
            "kd_fall_pose_loso_u25.json",
            "python -m bench.kd_quality --dataset fall --teacher pose --unlabeled-heldout "
            "--unlabeled-fraction 0.25 --out bench/results/kd_fall_pose_loso_u25.json",
        )
    parts = []
    for base, family in shares.items():
        splits = shared_splits(family)
        if len(splits) > 1:
            parts.append(amount_means(base, family, splits))
        parts += [amount_split(base, family, split, img) for split in splits]
    return fill("unlabeled_amount.md", parts="\n\n".join(parts))


def amount_means(base: str, family: Family, splits: list[str]) -> str:
    """Each share's mean over the splits (each split's own mean over seeds), gains over no KD."""
    first = family[min(family)][1]
    base_acc = over_splits(first, splits, SCRATCH, "accuracy_clip")
    base_auc = over_splits(first, splits, SCRATCH, "fall_auc_window")
    rows = [["no KD", num(base_acc, 3), num(base_auc, 3), "", ""]]
    shares = [(0.0, first, KD)]
    shares += [(share, rec, KD_UNLABELED) for share, (_, rec) in sorted(family.items())]
    for share, record, model in shares:
        acc = over_splits(record, splits, model, "accuracy_clip")
        auc = over_splits(record, splits, model, "fall_auc_window")
        rows.append([
            share_label(share),
            num(acc, 3),
            num(auc, 3),
            "" if acc is None or base_acc is None else f"{(acc - base_acc) * 100:+.1f} points",
            "" if auc is None or base_auc is None else f"{auc - base_auc:+.3f}",
        ])  # fmt: skip
    return fill(
        "unlabeled_means.md",
        base=base,
        count=len(splits),
        splits=", ".join(f"`{s}`" for s in splits),
        table=table(MEANS_HEADER, rows),
    )


def share_label(share: float) -> str:
    return "0 (KD only)" if share == 0 else f"{share:.0%}"


def amount_split(base: str, family: Family, split: str, img: Path) -> str:
    first = family[min(family)][1]["splits"][split]["summary"]
    rows = [amount_row(share_label(0), "", "", first[KD], first[SCRATCH])]
    points = [amount_point(0.0, first[KD], first[SCRATCH])]
    for share, (name, record) in sorted(family.items()):
        entry = record["splits"][split]
        model, scratch = entry["summary"][KD_UNLABELED], entry["summary"][SCRATCH]
        rows.append(amount_row(share_label(share), videos(entry, share), f"`{name}`", model,
                               scratch))  # fmt: skip
        points.append(amount_point(share, model, scratch))
    plot = report_plots.unlabeled_amount(points, img / f"unlabeled_{Path(base).stem}_{split}.png",
                                         split)  # fmt: skip
    return family_table(f"`{base}` and its shares, split `{split}`", family, HEADER, rows, plot,
                        "unlabelled video")  # fmt: skip


def videos(entry: Record, share: float) -> str:
    """The mean number of held-out videos the seeds got ('all' for the whole split)."""
    counts = [report.unlabeled_videos for report in seed_reports(entry)]
    known = [count for count in counts if count is not None]
    if len(known) == len(counts):
        return num(sum(known) / len(known))
    return "all" if share == 1.0 else "?"


def amount_row(share: str, videos: str, name: str, model: Record, scratch: Record) -> list[str]:
    return [
        share,
        videos,
        name,
        mean_std(model.get("accuracy_clip", {})),
        mean_std(model.get("fall_auc_window", {})),
        mean_std(scratch.get("accuracy_clip", {})),
        mean_std(scratch.get("fall_auc_window", {})),
    ]


def amount_point(share: float, model: Record, scratch: Record) -> report_plots.SharePoint:
    def stat(entry: Record, metric: str) -> tuple[float | None, float]:
        value = entry.get(metric, {})
        return value.get("mean"), value.get("std") or 0.0

    return report_plots.SharePoint(
        share=share,
        accuracy=stat(model, "accuracy_clip"),
        auc=stat(model, "fall_auc_window"),
        scratch_accuracy=stat(scratch, "accuracy_clip"),
        scratch_auc=stat(scratch, "fall_auc_window"),
    )
