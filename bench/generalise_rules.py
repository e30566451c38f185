"""The fall rule through the real agent: each rule, the same shipped students, the same clips.

    python -m bench.generalise_rules --split lodo_le2i --seeds 1
    # -> bench/results/generalise_rules.json

`bench/generalise.py` sweeps alert rules on the window scores (what the agent would do)
and runs the agent at the shipped rule only. This runs `vigil edge run --print` itself at
each `--rule THRESHOLD/K/N` (default: the one-window rule the agent had before, and the
shipped one) on the test clips of runs `bench/generalise.py` left in its work folder,
with the student each run exported, and judges the alerts as that benchmark does. A
(split, seed) already in the JSON is replaced; the others are kept.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench.common import RESULTS, cli_settings, command_line, commit_at_start, write_result
from bench.generalise import (
    ONE_WINDOW,
    AlertRule,
    agent_env,
    agent_rule,
    edge_metrics,
    edge_runs,
    merged_folder,
    negative_clips,
    splits,
)
from bench.generalise import parse_args as generalise_args

RESULT = RESULTS / "generalise_rules.json"


def parse_rule(text: str) -> AlertRule:
    """`0.5/2/2` -> p >= 0.5 in 2 of the last 2 windows, the alarm at once (one stage);
    `0.5/2/2/2` -> the same, confirmed 2 s later."""
    try:
        threshold, k, n, *confirm = text.split("/")
        if len(confirm) > 1:
            raise ValueError(text)
        rule = AlertRule(float(threshold), int(k), int(n), float(confirm[0]) if confirm else 0.0)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"a rule is THRESHOLD/K/N[/CONFIRM_S], like 0.5/2/2 or 0.5/2/2/2: {text!r}"
        ) from None
    if not (0 <= rule.threshold <= 1 and 1 <= rule.k <= rule.n and rule.confirm_s >= 0):
        raise argparse.ArgumentTypeError(
            f"need 0 <= THRESHOLD <= 1, 1 <= K <= N and CONFIRM_S >= 0: {text!r}"
        )
    return rule


def run_rules(split_name: str, seed: int, rules: list[AlertRule], args: Any) -> dict[str, Any]:
    """The agent at each rule on one run's test clips, with the student that run shipped."""
    from cloud.training.report import RunReport
    from shared.datasets import load_folder, split_records

    split = splits()[split_name]
    run_dir = args.work / f"{split_name}-seed{seed}"
    report_path = run_dir / "report.json"
    if not report_path.exists():
        raise SystemExit(f"generalise_rules: {report_path} not found: run bench.generalise first")
    report = RunReport.model_validate_json(report_path.read_text())
    folder = merged_folder(args.work)
    records = split_records(load_folder(folder), test_where=split.test_where, seed=seed).test
    assert report.params is not None
    negatives = negative_clips(records, report.params.clip_seconds)
    out: dict[str, Any] = {"seed": seed, "exported": report.exported.value, "rules": {}}
    for rule in rules:
        clips = edge_runs(run_dir / "student.onnx", records, args.work / "agents-rules",
                          args.edge_jobs, agent_env(rule))  # fmt: skip
        out["rules"][rule.name] = edge_metrics(clips, negatives)
        print(f"{split_name} seed {seed} {rule.name}: " + summary(out["rules"][rule.name]))
    return out


def summary(m: dict[str, Any]) -> str:
    return (
        f"falls within 3 s {m['edge_falls_alerted_3s']:.0%}, "
        f"negatives alerted {m['edge_false_alarm_rate']:.0%}"
    )


def earlier(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()).get("splits", {}) if path.exists() else {}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--split", action="append", choices=sorted(splits()), required=True)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--rule", action="append", type=parse_rule,
                   help="THRESHOLD/K/N[/CONFIRM_S] (default: 0.5/1/1, shipped)")  # fmt: skip
    p.add_argument("--edge-jobs", type=int, default=2, help="agents run at once")
    p.add_argument("--work", type=Path, default=generalise_args([]).work)
    p.add_argument(
        "--out", type=Path, help="JSON path (default bench/results/generalise_rules.json)"
    )
    args = p.parse_args(argv)
    rules = args.rule or list(dict.fromkeys([ONE_WINDOW, agent_rule()]))
    path = args.out or RESULT
    result: dict[str, Any] = {
        "settings": cli_settings(args, drop=("rule",)),
        "rules": [rule.name for rule in rules],
        "shipped_rule": agent_rule().name,
        "splits": earlier(path),
    }
    for name in args.split:
        for seed in args.seeds:
            run = {**run_rules(name, seed, rules, args), "commit": commit_at_start(),
                   "command": command_line()}  # fmt: skip
            runs = [r for r in result["splits"].get(name, {}).get("runs", []) if r["seed"] != seed]
            result["splits"][name] = {"runs": sorted([*runs, run], key=lambda r: r["seed"])}
            write_result("generalise_rules.json", result, path)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
