"""bench.report renders docs/BENCHMARKS.md from result JSONs: figures in, 'not run' out.

Also bench.common's commit provenance: a result is never written without a real commit.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from bench import common, report
from bench.report.alerts import transport_text
from bench.report.ingest import ingest_reading, sse_load_cell
from bench.report.kd_partial import gap_text, upfall_reading
from bench.report.kd_tables import swept
from bench.report.markdown import fill
from bench.report.soak import worst_load_text
from cloud.training.report import ModelName, RunReport

MACHINE = {"cpu": "Test CPU", "cores": 2, "python": "3.11.7", "loadavg": [1.5, 1.0, 0.5]}


def write(folder: Path, name: str, record: dict) -> None:
    base = {"benchmark": name, "command": f"python bench/{name[:-5]}.py", "machine": MACHINE}
    (folder / name).write_text(json.dumps({**base, **record}))


def run_report(**fields: object) -> dict:
    """A seed's run report as kd_quality writes it: minimal, plus what a test sets."""
    entry = {"accuracy_window": 0.5, "accuracy_clip": 0.5, "macro_f1": 0.5, "params": 10,
             "macs": 100}  # fmt: skip
    gate = {"teacher_better": True, "teacher_val_f1": 0.6, "student_val_f1": 0.5, "message": ""}
    models = dict.fromkeys(
        (ModelName.TEACHER, ModelName.STUDENT_SCRATCH, ModelName.STUDENT_KD), entry
    )
    body = {"exported": "student_kd", "teacher_gate": gate, **models, "timing": {}, **fields}
    return RunReport.model_validate(body).as_json()


def seed(number: int, **fields: object) -> dict:
    return {"seed": number, "report": run_report(**fields)}


def soak_record() -> dict:
    memory = {
        "start_mb": 150.0,
        "after_1_min_mb": 152.5,
        "end_mb": 153.25,
        "max_mb": 154.0,
        "slope_mb_per_min": 0.31,
        "slope_mb_per_min_after_1_min": 0.07,
    }
    minutes = [
        {
            "minute": m,
            "events": 1500,
            "lag_ms_p50": 12.5 + m,
            "lag_ms_p95": 80.0,
            "lag_ms_max": 300.0,
        }
        for m in range(2)
    ]
    samples = [
        {"t_s": t, "serve_rss_mb": 150.0 + t / 60, "broker_rss_mb": 8.5, "loadavg_1m": 3.0}
        for t in (0.0, 60.0, 120.0)
    ]
    return {
        "settings": {
            "devices": 100,
            "sites": 10,
            "fleet": "paho",
            "minutes": 2.0,
            "heartbeat_s": 10.0,
            "event_period_s": 4.0,
            "fall_share": 0.01,
            "server": "vigil serve",
        },
        "events_acked": 3000,
        "events_stored": 3000,
        "events_lost": 0,
        "heartbeats_acked": 1200,
        "heartbeats_stored": 1200,
        "heartbeats_lost": 0,
        "lost_zero": True,
        "alerts_opened": 14,
        "fall_starts_stored": 14,
        "serve_rss": memory,
        "broker_rss": memory,
        "lag_by_minute": minutes,
        "samples": samples,
        "loadavg_1m": {"start": 2.5, "end": 3.5, "max": 4.75},
    }


def alert_record() -> dict:
    falls = [
        {
            "seed": 101,
            "detected": True,
            "streamed": True,
            "fall_start_s": 12.0,
            "detect_video_s": 13.5,
            "fall_to_edge_s": 1.85,
            "fall_to_sse_s": 1.87,
            "edge_to_sse_ms": 21.0,
            "false_alarms": 0,
            "start_slack_s": 0.2,
        },
        {"seed": 102, "detected": False, "false_alarms": 1, "start_slack_s": 0.25},
    ]
    dist = {"p50": 1.87, "p95": 1.87, "max": 1.87, "n": 1}
    return {
        "settings": {
            "seeds": [101, 102],
            "videos": "default scenario",
            "agent": "vigil edge run",
            "parallel": 2,
            "server": "vigil serve",
        },
        "student": {"source": "given", "path": "student.onnx"},
        "falls": falls,
        "falls_scripted": 2,
        "falls_detected": 1,
        "fall_alerts_streamed": 1,
        "false_alarms": 1,
        "alerts_printed": 2,
        "alerts_printed_and_streamed": 2,
        "fall_to_sse_s": dist,
        "edge_to_sse_ms": {**dist, "p50": 21.0},
        "edge_to_stored_ms": dist,
        "stored_to_sse_ms": dist,
        "start_slack_s_max": 0.25,
    }


def test_renders_figures_from_json_and_not_run_for_the_rest(tmp_path: Path) -> None:
    results, img = tmp_path / "results", tmp_path / "img"
    results.mkdir()
    write(results, "soak.json", soak_record())
    write(results, "alert_latency.json", alert_record())

    doc = report.render(results, img)

    assert "| vigil serve (API + ingest) | 150.0 | 152.5 | 153.2 | 154.0 | 0.31 | 0.07 |" in doc
    assert "| events | 3,000 | 3,000 | 0 |" in doc
    assert "| 1 | 1,500 | 13.5 | 80.0 | 300.0 | 3.0 |" in doc  # minute 1's lag, load
    assert "Lost = 0 (counted from the database): **yes**" in doc
    assert "| scripted fall -> the alarm on the stream | 1.87 s |" in doc
    assert "| scripted fall -> deciding window's end (video time) | 1.50 s |" in doc
    assert "Falls scripted 2, alarmed 1" in doc
    assert "Missed falls: seed 102" in doc
    assert "Command: `python bench/soak.py`. Machine: Test CPU, 2 cores" in doc
    assert "load average 1.5, 1.0, 0.5" in doc
    for absent in ("faults.json", "bad_inputs.json", "edge_throughput.json", "ingest.json"):
        assert f"**Not run**: `bench/results/{absent}` is absent" in doc
    assert sorted(p.name for p in img.glob("*.png")) == ["alert_latency.png", "soak.png"]


def test_the_window_phase_table_shows_each_recipe_phase_by_phase(tmp_path: Path) -> None:
    def run(hop: float, draws: int, jitter: float, caught: list[bool]) -> dict:
        phases = [
            {"phase": k, "caught": c, "latency_s": 0.8 + k / 10 if c else None, "false_alarms": 0}
            for k, c in enumerate(caught)
        ]
        summary = {
            "phases": len(caught), "caught": sum(caught), "with_false_alarm": 0,
            "latency_s_median": 0.9, "latency_s_max": 1.1,
        }  # fmt: skip
        return {
            "hop_s": hop, "draws": draws, "time_jitter_s": jitter, "train_seed": 0,
            "train_windows": 1080,
            "train_wall_s": 95.4, "summary": summary, "per_phase": phases,
        }  # fmt: skip

    settings = {"clips_per_class": 30, "epochs": 40, "size": 160, "phases": 3, "late_s": 2.0}
    write(tmp_path, "window_phase.json", {
        "settings": settings, "fall": {"start_s": 12.0, "end_s": 14.0}, "fps": 15.0,
        "edge_hop_s": 0.5,
        "runs": [run(0.5, 8, 0, [True, False, True]), run(0.5, 8, 0.25, [True] * 3)],
        "by_recipe": {
            "0.5:8": {"phases": 3, "caught": 2, "with_false_alarm": 0},
            "0.5:8:0.25": {"phases": 3, "caught": 3, "with_false_alarm": 1},
        },
    })  # fmt: skip
    doc = report.render(tmp_path, tmp_path / "img")
    assert "| 0.5 s | 8 | 0 s | 0 | 1,080 | 95 | 2 of 3 | 0 | 0.90 | 1.10 | x . x |" in doc
    assert "| 0.5 s | 8 | 0.25 s | 0 | 1,080 | 95 | 3 of 3 | 0 | 0.90 | 1.10 | x x x |" in doc
    assert "windows (every 0.5 s) land k/15 s later" in doc
    assert (
        "Over the seeds: every 0.5 s, 8 draws: caught in 2 of 3 phase runs, a false alarm in 0; "
        "every 0.5 s, 8 draws, jitter 0.25 s: caught in 3 of 3 phase runs, a false alarm in 1."
    ) in doc


def test_an_unknown_result_shape_still_shows_its_figures(tmp_path: Path) -> None:
    write(
        tmp_path,
        "bad_inputs.json",
        {
            "tried": 250,
            "rejected": 250,
            "crashed": False,
            "cases": [{"kind": "mqtt", "n": 200, "ok": True}],
        },
    )
    doc = report.render(tmp_path, tmp_path / "img")
    assert "| tried | 250 |" in doc
    assert "| crashed | no |" in doc
    assert "| mqtt | 200 | yes |" in doc


def kd_summary(acc: dict[str, float]) -> dict:
    """A kd_quality summary with one seed: each model's clip accuracy, the rest absent."""
    summary: dict = {m: {"accuracy_clip": {"mean": a, "std": None, "n": 1}} for m, a in acc.items()}
    summary["goals"] = {"teacher_fall_auc_window": {"value": 0.93, "goal": ">= 0.9", "met": True}}
    chosen = [{"temperature": 4.0, "lam": 0.5}] * 2  # two seeds, the same pair
    return {**summary, "teacher_kind": "pose", "chosen_kd": chosen}


def test_every_kd_result_is_rendered_split_by_split(tmp_path: Path) -> None:
    acc = {"teacher": 0.9, "student_scratch": 0.6, "student_kd": 0.7, "student_kd_unlabeled": 0.75}
    split = {"test_where": "subject=gmdcsa:S1", "val_where": None, "per_seed": [seed(0)]}
    record = {
        "settings": {"seeds": [0, 1]},
        "splits": {"loso_S1": {**split, "summary": kd_summary(acc)}},
    }
    write(tmp_path, "kd_fall_pose.json", record)

    doc = report.render(tmp_path, tmp_path / "img")

    assert "### `kd_fall_pose.json`, split `loso_S1`" in doc
    assert "seed 0 only (seed 1 did not finish)" in doc
    assert "| teacher (pose) | 0.900 |" in doc
    assert "| student, KD (T=4, lam=0.5 by sweep) | 0.700 |" in doc
    assert "| student, KD + unlabelled held-out video | 0.750 |" in doc
    assert "| teacher fall AUC (window) >= 0.9 | 0.930 | yes |" in doc
    assert "**Not run**: `bench/results/kd_synthetic.json` is absent" in doc


def sized_summary(params: int, latency: float, acc: float, std: float) -> dict:
    """One split's summary for the student-size section: the students at one input size."""

    def stat(mean: float, spread: float | None = None) -> dict:
        return {"mean": mean, "std": spread, "n": 3}

    student = {
        "params": stat(params),
        "macs": stat(params * 40.0),
        "ort_latency_ms": stat(latency),
        "accuracy_clip": stat(acc, std),
        "fall_auc_window": stat(0.8),
    }
    kd = {**student, "accuracy_clip": stat(acc + 0.05, std)}
    return {"student_scratch": student, "student_kd": kd, "goals": {}}


def test_other_student_sizes_get_a_table_and_plot_of_their_own(tmp_path: Path) -> None:
    split = {"test_where": "trial=3", "val_where": None, "per_seed": [seed(0)]}
    for name, size, latency, acc in (
        ("kd_upfall_pose.json", 32, 1.1, 0.60),
        ("kd_upfall_pose_s64.json", 64, 3.9, 0.55),
    ):
        summary = sized_summary(110_000, latency, acc, 0.02)
        record = {"settings": {"seeds": [0], "student_size": size}, "splits": {"t": split}}
        record["splits"]["t"] = {**split, "summary": summary}
        write(tmp_path, name, record)

    doc = report.render(tmp_path, tmp_path / "img")

    section = doc[doc.index("## Student input size") :]
    small = "| 32 px | `kd_upfall_pose.json` | 110,000 | 4.4 M | 1.10 | 0.600 ± 0.020 | 0.650"
    assert small in section
    assert "| 64 px | `kd_upfall_pose_s64.json` | 110,000 | 4.4 M | 3.90 | 0.550 ± 0.020" in section
    plot = tmp_path / "img" / "size_kd_upfall_pose_t.png"
    assert plot.read_bytes().startswith(b"\x89PNG")
    # The other-size run is not rendered again among the kd results.
    assert "### `kd_upfall_pose_s64.json`" not in doc
    assert "### `kd_upfall_pose.json`, split `t`" in doc


def shared_summary(kd_acc: float, unl_acc: float | None, unl_auc: float | None) -> dict:
    """A fall split's summary: no KD, KD and (where given) KD + unlabelled."""

    def stat(mean: float | None, spread: float | None = 0.01) -> dict:
        return {"mean": mean, "std": spread, "n": 3}

    summary = {
        "student_scratch": {"accuracy_clip": stat(0.6), "fall_auc_window": stat(0.55)},
        "student_kd": {"accuracy_clip": stat(kd_acc), "fall_auc_window": stat(0.58)},
        "goals": {},
    }
    if unl_acc is not None:
        summary["student_kd_unlabeled"] = {
            "accuracy_clip": stat(unl_acc),
            "fall_auc_window": stat(unl_auc),
        }
    return summary


def test_shares_of_unlabelled_video_get_a_table_and_plot(tmp_path: Path) -> None:
    for name, share, acc, auc, videos in (
        ("kd_fall_pose_loso.json", None, 0.75, 0.80, None),
        ("kd_fall_pose_loso_u25.json", 0.25, 0.65, 0.62, 2),
    ):
        seeds = [seed(s, **({"unlabeled_videos": videos} if videos else {})) for s in range(3)]
        split = {"test_where": "subject=S2", "val_where": None, "per_seed": seeds,
                 "summary": shared_summary(0.62, acc, auc)}  # fmt: skip
        other = {**split, "summary": shared_summary(0.62, acc - 0.1, auc - 0.1)}
        settings = {"seeds": [0, 1, 2], **({"unlabeled_fraction": share} if share else {})}
        write(tmp_path, name, {"settings": settings, "splits": {"S2": split, "S3": other}})

    doc = report.render(tmp_path, tmp_path / "img")

    section = doc[doc.index("## Amount of unlabelled video") :]
    assert "| 0 (KD only) |  |  | 0.620 ± 0.010 | 0.580 ± 0.010 | 0.600 ± 0.010 |" in section
    assert "| 25% | 2.0 | `kd_fall_pose_loso_u25.json` | 0.650 ± 0.010 | 0.620 ± 0.010 |" in section
    assert "| 100% | all | `kd_fall_pose_loso.json` | 0.750 ± 0.010 | 0.800 ± 0.010 |" in section
    means = section[section.index("mean over 2 splits (`S2`, `S3`)") :]
    assert "| no KD | 0.600 | 0.550 |  |  |" in means
    assert "| 0 (KD only) | 0.620 | 0.580 | +2.0 points | +0.030 |" in means
    assert "| 25% | 0.600 | 0.570 | +0.0 points | +0.020 |" in means
    assert "| 100% | 0.700 | 0.750 | +10.0 points | +0.200 |" in means
    plot = tmp_path / "img" / "unlabeled_kd_fall_pose_loso_S2.png"
    assert plot.read_bytes().startswith(b"\x89PNG")
    assert "### `kd_fall_pose_loso_u25.json`" not in doc  # not rendered again as a kd result


def test_a_twin_on_the_motion_crop_is_set_beside_its_base(tmp_path: Path) -> None:
    for name, kd_acc, unl_acc, unl_auc, settings in (
        ("kd_upfall_pose.json", 0.62, 0.70, 0.9, {}),
        ("kd_upfall_pose_crop.json", 0.72, 0.80, 0.95, {"student_crop": "motion"}),
    ):
        split = {"test_where": "trial=3", "val_where": None, "per_seed": [seed(0)]}
        splits = {
            "a": {**split, "summary": shared_summary(kd_acc, unl_acc, unl_auc)},
            "b": {**split, "summary": shared_summary(kd_acc - 0.1, unl_acc - 0.1, 0.7)},
        }
        write(tmp_path, name, {"settings": {"seeds": [0], **settings}, "splits": splits})
    cost = {"per_frame_us": {"whole_frame": 400.0, "motion_crop": 520.0}, "crop_over_whole": 1.3}
    video = {"path": "/data/clip.mp4", "size": [640, 480], "frames": 9}
    record = {**cost, "video": video, "settings": {"repeats": 3}, "opencv_threads": 1}
    write(tmp_path, "motion_crop_cost.json", record)

    doc = report.render(tmp_path, tmp_path / "img")

    section = doc[doc.index("## Motion crop") :]
    assert "takes 400 µs for the whole frame and 520 µs with the crop (1.30x" in section
    assert "the median of 3 passes over the 9 frames of `clip.mp4`, OpenCV on 1 thread" in section
    assert "| `a` | student, KD | 0.620 | 0.720 | 0.580 | 0.580 |" in section
    assert "| `b` | student, KD + unlabelled held-out video | 0.600 | 0.700 | 0.700 | 0.700 |" in (
        section
    )
    assert "| mean of 2 | student, no KD | 0.600 | 0.600 | 0.550 | 0.550 |" in section
    assert "| mean of 2 | student, KD | 0.570 | 0.670 |" in section
    counted = "raised the mean fall AUC in 1 of 1 (split, student) cells and lowered it in 0"
    assert counted in section
    assert "### `kd_upfall_pose_crop.json`" not in doc  # not rendered again as a kd result


def test_a_merged_result_names_every_run_it_came_from(tmp_path: Path) -> None:
    split = {"test_where": "subject=S1", "val_where": None, "per_seed": [seed(0)],
             "summary": shared_summary(0.62, None, None)}  # fmt: skip
    sources = [
        {"command": "python kd.py --seeds 0", "commit": "aaaaaaaaaaaa", "finished_at": "t0",
         "seeds": {"S1": [0]}},
        {"command": "python kd.py --seeds 1 2", "commit": "bbbbbbbbbbbb", "finished_at": "t1",
         "seeds": {"S1": [1, 2]}},
    ]  # fmt: skip
    record = {"settings": {"seeds": [0, 1, 2]}, "splits": {"S1": split}, "sources": sources}
    write(tmp_path, "kd_fall_pose.json", record)

    doc = report.render(tmp_path, tmp_path / "img")

    assert (
        "Merged from 2 runs: `python kd.py --seeds 0` (t0, commit aaaaaaaaaa; seed 0); "
        "`python kd.py --seeds 1 2` (t1, commit bbbbbbbbbb; seeds 1, 2)."
    ) in doc


# -- the committed document ----------------------------------------------------------------


def test_the_committed_benchmarks_md_is_what_bench_results_render(tmp_path: Path) -> None:
    committed = common.REPO / "docs" / "BENCHMARKS.md"

    doc = report.render(common.RESULTS, tmp_path / "img")

    assert doc.encode() == committed.read_bytes(), (
        "docs/BENCHMARKS.md is not what bench/results and bench/report/templates render: "
        "run `python -m bench.report` and commit the result"
    )
    drawn = sorted(p.name for p in (tmp_path / "img").glob("*.png"))
    assert sorted(re.findall(r"\]\(img/([^)]+)\)", doc)) == drawn
    assert all((committed.parent / "img" / name).exists() for name in drawn)


def test_a_template_must_be_given_each_placeholder_and_no_other() -> None:
    with pytest.raises(KeyError, match=r"missing \['table'\], unknown \['tabel'\]"):
        fill("faults.md", tabel="", survived=1, of=1)


def test_a_kd_run_swept_unless_its_settings_say_otherwise_old_or_new() -> None:
    assert swept({"sweep": True}) and not swept({"sweep": False})  # settings from now on
    assert swept({"no_sweep": False}) and not swept({"no_sweep": True})  # the results here
    assert swept({})


# -- sentences the numbers decide ----------------------------------------------------------


def synthetic_record(scratch: float, kd: float, teacher_better: bool) -> dict:
    """kd_synthetic.json with one split and one seed: the students' clip accuracy given."""
    acc = {ModelName.TEACHER: 0.45, ModelName.STUDENT_SCRATCH: scratch, ModelName.STUDENT_KD: kd}
    summary: dict = {m: {"accuracy_clip": {"mean": a, "std": None, "n": 1}} for m, a in acc.items()}
    summary |= {"goals": {}, "teacher_better_on_val": [teacher_better], "chosen_kd": []}
    split = {"test_where": "group=4", "val_where": "group=3", "per_seed": [seed(0)],
             "summary": summary}  # fmt: skip
    return {"settings": {"seeds": [0], "clips_per_class": 50}, "splits": {"group_4": split}}


def test_the_synthetic_reading_says_what_kd_did_with_its_sign(tmp_path: Path) -> None:
    write(tmp_path, "kd_synthetic.json", synthetic_record(0.287, 0.300, teacher_better=True))
    gained = report.render(tmp_path, tmp_path / "img")
    write(tmp_path, "kd_synthetic.json", synthetic_record(0.300, 0.238, teacher_better=False))
    lost = report.render(tmp_path, tmp_path / "img")
    write(tmp_path, "kd_synthetic.json", synthetic_record(0.300, 0.3004, teacher_better=True))
    level = report.render(tmp_path, tmp_path / "img")

    assert "KD gained 1.3 points of clip accuracy over the student without KD." in gained
    assert "validated better than the student in every seed (the gate passes)" in gained
    assert "KD lost 6.2 points of clip accuracy against the student without KD." in lost
    assert "The teacher did not validate better than the student in every seed." in lost
    assert "KD left the student's clip accuracy unchanged" in level
    for doc in (gained, lost, level):
        assert "ad-hoc" not in doc and "soft labels add little" not in doc


def upfall_evals(trial_teacher: float, trial_student: float, camera_teacher: float) -> dict:
    def scores(acc: float) -> dict:
        return {"accuracy_clip": acc, "macro_f1": acc, "per_class_recall": dict.fromkeys("abcd")}

    return {
        ("trial", ModelName.TEACHER): scores(trial_teacher),
        ("trial", ModelName.STUDENT_SCRATCH): scores(trial_student),
        ("camera", ModelName.TEACHER): scores(camera_teacher),
        ("camera", ModelName.STUDENT_SCRATCH): None,
    }


def test_the_partial_upfall_reading_reads_the_teachers_side_of_each_gap() -> None:
    worse = upfall_reading(upfall_evals(0.818, 0.591, 0.061), {ModelName.TEACHER: 0.9})
    better = upfall_reading(upfall_evals(0.50, 0.60, 0.40), {})

    assert "teacher's clip accuracy is 82%, 23 points above the student's without KD" in worse
    assert "across cameras it is 6%, 19 points below chance (25%, 1 of 4 classes)" in worse
    assert "best validation macro-F1 there was 0.900, its macro-F1 on the test camera 0.061" in (
        worse
    )
    assert "50%, 10 points below the student's without KD (60%)" in better
    assert "across cameras it is 40%, 15 points above chance" in better
    assert "validation" not in better  # no training log, nothing said of it
    assert "collapses" not in worse + better and "as the brief warned" not in worse + better
    assert gap_text(0.5, 0.504) == "level with"


def ingest_run(rate: int, published: float, stored: float) -> dict:
    return {"settings": {"rate": rate}, "mqtt_publish_rate": published,
            "mqtt_events_per_s": stored, "sse_latency_under_load_ms_p50": 2009.0,
            "sse_latency_under_load_ms_p95": 3064.0}  # fmt: skip


def test_the_ingest_reading_says_which_rate_fell_behind() -> None:
    kept, behind = ingest_run(5000, 4999.4, 4999.4), ingest_run(8000, 7997.2, 7359.2)

    text = ingest_reading({"ingest.json": kept, "ingest_rate8000.json": behind})

    assert text == (
        "Reading: with 5,000/s offered the ingest kept up with the 4,999/s published; with "
        "8,000/s offered (7,997/s published) the ingest stored about 7,359/s and fell behind."
    )
    assert sse_load_cell(behind) == "2.0 / 3.1 s (backlog)"
    assert sse_load_cell(kept) == "2.0 / 3.1 s"  # slow, but not behind: no backlog claimed


def test_the_transport_sentence_follows_the_counts() -> None:
    counts = {"alerts_printed": 8, "falls_scripted": 12, "falls_detected": 6, "false_alarms": 2}

    missed = transport_text({**counts, "alerts_printed_and_streamed": 8})
    clean = transport_text({**counts, "alerts_printed_and_streamed": 8, "falls_detected": 12,
                            "false_alarms": 0})  # fmt: skip
    lost = transport_text({**counts, "alerts_printed_and_streamed": 7})

    assert missed.endswith("(8) reached the stream, so the misses and false alarms arose on the "
                           "edge, before the transport.")  # fmt: skip
    assert clean == "Every fall alert an agent printed (8) reached the stream."
    assert lost == "Only 7 of the 8 fall alerts the agents printed reached the stream."


def test_the_soak_reading_says_whether_the_worst_minute_was_the_busiest() -> None:
    lag = [{"minute": m} for m in range(3)]
    samples = [{"t_s": 60.0 * m + 1, "loadavg_1m": load} for m, load in enumerate((9.0, 11.0, 4.0))]
    record = {"lag_by_minute": lag, "samples": samples}

    assert worst_load_text(record, 1) == "11.0, the highest of the run"
    assert worst_load_text(record, 0) == "9.0, below the run's highest (11.0, minute 1)"


# -- bench.common: the commit a result records ---------------------------------------------


def test_git_commit_fails_loudly_outside_a_repository(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))  # no repo above it
    with pytest.raises(RuntimeError, match=r"`git rev-parse HEAD` failed in .* \(exit 128\)"):
        common.git_commit(tmp_path)


def test_git_commit_refuses_a_repository_without_commits(tmp_path: Path, monkeypatch) -> None:
    # There `git rev-parse HEAD` prints "HEAD": what results used to record as their commit.
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    with pytest.raises(RuntimeError, match="rev-parse HEAD"):
        common.git_commit(tmp_path)


def test_git_commit_refuses_output_that_is_not_a_commit(monkeypatch) -> None:
    done = subprocess.CompletedProcess(["git"], 0, stdout="HEAD\n", stderr="")
    monkeypatch.setattr(common.subprocess, "run", lambda *a, **k: done)
    with pytest.raises(RuntimeError, match="printed 'HEAD', not a commit id"):
        common.git_commit()


def test_git_commit_names_this_checkout() -> None:
    assert re.fullmatch(r"[0-9a-f]{40}", common.git_commit())


def test_no_result_is_written_without_a_commit(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(common, "COMMIT_AT_START", None)
    monkeypatch.setattr(common, "_NO_COMMIT_BECAUSE", "`git rev-parse HEAD` failed (exit 128)")
    out = tmp_path / "results" / "x.json"
    with pytest.raises(RuntimeError, match="must name the commit it ran: `git rev-parse HEAD`"):
        common.write_result("x.json", {"n": 1}, out=out)
    assert not out.exists() and not out.parent.exists()
