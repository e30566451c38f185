"""The motion-crop section: each kd result beside its twin whose student saw the crop."""

from __future__ import annotations

from pathlib import Path

from bench.report.kd_tables import MODEL_NAMES, seed_reports
from bench.report.markdown import counted, fill, num, table
from bench.report.results import Record, Results, not_run, provenance
from bench.report.twins import CROPS, Family, families, over_splits, shared_splits
from cloud.training.report import STUDENTS, ModelName

HEADER = ["split", "student", "clip acc, whole frame", "clip acc, crop",
          "fall AUC, whole frame", "fall AUC, crop"]  # fmt: skip


def motion_crop_section(results: Results) -> str:
    """What the crop costs a frame, then each twin's table, split by split."""
    found = families(results, CROPS)
    if not found:
        return not_run(
            "kd_upfall_pose_crop.json",
            "python -m bench.kd_quality --dataset upfall --teacher pose --unlabeled-heldout "
            "--student-crop motion --out bench/results/kd_upfall_pose_crop.json",
        )
    parts = [crop_family(base, family) for base, family in found.items()]
    return fill("motion_crop.md", cost=crop_cost(results), parts="\n\n".join(parts))


def crop_family(base: str, family: Family) -> str:
    (_, whole), (_, cropped) = family["none"], family["motion"]
    splits = shared_splits(family)
    rows = [crop_row(split, model, whole, cropped) for split in splits for model in STUDENTS]
    if len(splits) > 1:
        rows += [crop_row(splits, model, whole, cropped) for model in STUDENTS]
    return fill(
        "motion_crop_twin.md",
        base=base,
        provenance=" ".join(provenance(record, name) for name, record in family.values()),
        table=table(HEADER, rows),
        reading=crop_reading(whole, cropped, splits),
    )


def crop_row(split: str | list[str], model: ModelName, whole: Record, cropped: Record) -> list[str]:
    splits = [split] if isinstance(split, str) else split

    def mean(record: Record, metric: str) -> str:
        value = over_splits(record, splits, model, metric)
        return "" if value is None else num(value, 3)

    name = f"`{split}`" if isinstance(split, str) else f"mean of {len(splits)}"
    return [name, MODEL_NAMES[model], mean(whole, "accuracy_clip"), mean(cropped, "accuracy_clip"),
            mean(whole, "fall_auc_window"), mean(cropped, "fall_auc_window")]  # fmt: skip


def auc_moves(whole: Record, cropped: Record, splits: list[str]) -> tuple[int, int]:
    """In how many (split, student) cells the crop raised, and lowered, the mean fall AUC."""
    up = down = 0
    for split in splits:
        for model in STUDENTS:
            a, b = (r["splits"][split]["summary"].get(model, {}).get("fall_auc_window", {})
                    for r in (whole, cropped))  # fmt: skip
            if a.get("mean") is None or b.get("mean") is None:
                continue
            up += b["mean"] > a["mean"]
            down += b["mean"] < a["mean"]
    return up, down


def teachers(record: Record, splits: list[str]) -> list[tuple[int, float | None]]:
    """(seed, teacher fall AUC) of every seed of the splits: equal when the teachers are."""
    return [
        (seed["seed"], report.teacher.fall_auc_window)
        for split in splits
        for seed, report in zip(
            record["splits"][split]["per_seed"], seed_reports(record["splits"][split]), strict=True
        )
    ]


def crop_reading(whole: Record, cropped: Record, splits: list[str]) -> str:
    """How often the crop raised a student's fall AUC, and whether the teachers matched."""
    up, down = auc_moves(whole, cropped, splits)
    same = teachers(whole, splits) == teachers(cropped, splits)
    return (
        f"Reading: the crop raised the mean fall AUC in {up} of {up + down} (split, student) "
        f"cells and lowered it in {down}. "
        + (
            "The teachers of both runs are the same, seed by seed (same fall AUC)."
            if same
            else "The teachers of the two runs differ: compare with care."
        )  # fmt: skip
    )


def crop_cost(results: Results) -> str:
    """What the crop costs a frame (bench/motion_crop_cost.py), when measured."""
    record = results.get("motion_crop_cost.json")
    if record is None:
        return not_run("motion_crop_cost.json", "python -m bench.motion_crop_cost")
    cost, video = record["per_frame_us"], record["video"]
    return fill(
        "motion_crop_cost.md",
        width=video["size"][0],
        height=video["size"][1],
        whole=f"{cost['whole_frame']:.0f}",
        crop=f"{cost['motion_crop']:.0f}",
        ratio=f"{record['crop_over_whole']:.2f}",
        repeats=record["settings"]["repeats"],
        frames=video["frames"],
        video=Path(video["path"]).name,
        threads=counted(record["opencv_threads"], "thread"),
        provenance=provenance(record, "motion_crop_cost.json"),
    )
