"""bench/kd_quality.py's plumbing: the unlabelled share of held-out video, merging seeds."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def kd(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(REPO))  # bench/ is a folder of scripts, not installed
    return importlib.import_module("bench.kd_quality")


def clip_folder(root: Path, falls: int) -> Path:
    for label, count in (("fall", falls), ("walk", 3)):
        (root / label).mkdir(parents=True)
        for i in range(count):
            (root / label / f"{label}{i:02d}.mp4").write_bytes(b"")
    return root


def linked(folder: Path) -> list[str]:
    return [p.resolve().name for p in sorted(folder.iterdir())]


def test_a_share_of_held_out_video_is_a_seeded_nested_subset(kd, tmp_path: Path) -> None:
    data = clip_folder(tmp_path / "data", falls=8)

    def share(fraction: float, seed: int = 0) -> list[str]:
        folder, count = kd.heldout_videos(data, "label=fall", seed, tmp_path / "u", fraction)
        names = linked(folder)
        assert count == len(names)
        return names

    everything = share(1.0)
    assert everything == [f"fall{i:02d}.mp4" for i in range(8)]  # only the test split
    quarter, half = share(0.25), share(0.5)
    assert len(quarter) == 2 and len(half) == 4
    assert set(quarter) < set(half) < set(everything)
    assert quarter == sorted(quarter)  # kept in the split's order
    assert share(0.25) == quarter  # the seed decides
    assert any(share(0.25, seed) != quarter for seed in range(1, 6))
    assert len(share(0.01)) == 1  # never none


def result(split_seeds: dict[str, list[int]], commit: str) -> dict:
    def report(seed: int) -> dict:
        entry = {"accuracy_clip": 0.5 + seed / 10, "ort_latency_ms": 1.0}
        return {
            "teacher": {**entry, "accuracy_clip": 0.9},
            "student_scratch": entry,
            "student_kd": {**entry, "kd": {"temperature": 4.0, "lam": 0.1}},
            "timing": {"kd_over_scratch": 1.1},
            "teacher_gate": {"teacher_better": True},
        }

    splits = {
        name: {"test_where": f"subject={name}", "val_where": None,
               "per_seed": [{"seed": s, "report": report(s)} for s in seeds]}
        for name, seeds in split_seeds.items()
    }  # fmt: skip
    return {"command": f"python bench/kd_quality.py at {commit}", "commit": commit,
            "settings": {"seeds": sorted({s for v in split_seeds.values() for s in v})},
            "splits": splits}  # fmt: skip


def test_merge_joins_the_seeds_of_a_split_and_summarises_them_again(kd, tmp_path: Path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps(result({"S1": [0], "S2": [0]}, "aaa")))
    second.write_text(json.dumps(result({"S1": [1, 2]}, "bbb")))
    out = tmp_path / "merged.json"

    kd.merge_results([first, second], out)

    merged = json.loads(out.read_text())
    s1 = merged["splits"]["S1"]
    assert [s["seed"] for s in s1["per_seed"]] == [0, 1, 2]
    accuracy = s1["summary"]["student_scratch"]["accuracy_clip"]
    assert accuracy["n"] == 3 and accuracy["mean"] == pytest.approx(0.6)
    assert merged["splits"]["S2"]["summary"]["student_scratch"]["accuracy_clip"]["n"] == 1
    assert merged["settings"]["seeds"] == [0, 1, 2]
    assert [(s["commit"], s["seeds"]) for s in merged["sources"]] == [
        ("aaa", {"S1": [0], "S2": [0]}),
        ("bbb", {"S1": [1, 2]}),
    ]


def test_merge_refuses_a_seed_run_twice(kd, tmp_path: Path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps(result({"S1": [0, 1]}, "aaa")))
    second.write_text(json.dumps(result({"S1": [1]}, "bbb")))
    with pytest.raises(SystemExit, match=r"seed\(s\) \[1\] in two files"):
        kd.merge_results([first, second], tmp_path / "merged.json")
    assert not (tmp_path / "merged.json").exists()
