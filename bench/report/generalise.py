"""The generalisation section: falls in datasets and people a model never saw, the false
alarms beside them, through the scores and through the real agent."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from bench.report.markdown import fill, num, table
from bench.report.results import Record, Section

EXPORTED = "exported"  # an alias of the student the pipeline shipped, not a model of its own
ONE_WINDOW = "p>=0.5, 1 of 1"  # the agent's rule before runs recorded theirs
KINDS = {"leave_dataset_out": "dataset left out", "leave_person_out": "person left out"}
HEADER = ["split", "model", "agent rule", "seeds", "clip AUC", "caught, FA 5 % (val threshold)",
          "test FA there", "caught, FA 1 %", "caught, FA 5 % (oracle)", "agent: falls alerted",
          "within 3 s", "agent: negatives alerted"]  # fmt: skip
# The generalisation issue's goals, on the leave-dataset-out splits (means over seeds).
GOALS = (
    ("caught_at_fa05", ">=", 0.8, "falls caught with false alarms held at 5 %"),
    ("edge_false_alarm_rate", "<=", 0.1, "negatives alerted by the agent"),
    ("edge_falls_alerted_3s", ">=", 0.9, "falls alerted by the agent within 3 s"),
)


def mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.fmean(present) if present else None


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f} %"


def cell(values: list[float | None], as_pct: bool = True) -> str:
    """Mean over seeds (and the spread, where there is more than one seed)."""
    present = [v for v in values if v is not None]
    if not present:
        return "-"
    text = pct(mean(present)) if as_pct else num(mean(present), 2)
    if len(present) > 1:
        spread = statistics.stdev(present)
        text += f" ± {100 * spread:.0f}" if as_pct else f" ± {spread:.2f}"
    return text


def agent_rules(m: dict[str, Any]) -> list[str | None]:
    """The fall rule the agent ran, per seed (None: no agent run, as for the teacher)."""
    if "agent_rule" in m:
        return list(m["agent_rule"])
    return [None if v is None else ONE_WINDOW for v in m["edge_false_alarm_rate"]]


def by_agent_rule(m: dict[str, Any]) -> dict[str | None, list[int]]:
    """A model's seeds, grouped by the fall rule the agent ran on them (None: no agent)."""
    rules = agent_rules(m)
    groups: dict[str | None, list[int]] = {}
    for i, rule in enumerate(rules):
        groups.setdefault(rule, []).append(i)
    return groups


def rows(r: Record) -> list[list[object]]:
    """A row per split, model and agent rule: seeds the agent ran under another fall rule
    are not averaged with these (their scores are, in their own row, the same models')."""
    out: list[list[object]] = []
    for name, split in r["splits"].items():
        for model, m in split["models"].items():
            for rule, seeds in by_agent_rule(m).items():

                def at(key: str, m: Any = m, seeds: list[int] = seeds) -> list[float | None]:
                    return [m[key][i] for i in seeds]

                out.append([
                    f"{name} ({KINDS.get(split['kind'], split['kind'])})", model,
                    f"`{rule}`" if rule else "-", len(seeds),
                    cell(at("clip_auc"), as_pct=False),
                    cell(at("caught_at_fa05")), cell(at("false_alarms_at_fa05")),
                    cell(at("caught_at_fa01")), cell(at("caught_at_fa05_oracle")),
                    cell(at("edge_falls_alerted")), cell(at("edge_falls_alerted_3s")),
                    cell(at("edge_false_alarm_rate")),
                ])  # fmt: skip
    return out


def hard_negative_rows(r: Record, model: str) -> list[list[object]]:
    """Per negative group, over every split and seed: units, share scored over 0.5, share
    over the 5 % threshold, share the agent alerted on (seeds it ran the shipped rule on)."""
    groups: dict[str, dict[str, list[float]]] = {}
    rule = current_rule(r)
    for split in r["splits"].values():
        m = split["models"].get(model)
        if m is None:
            continue
        rules = agent_rules(m)
        edges = [e if ran == rule else None for e, ran in
                 zip(m["edge_hard_negatives"], rules, strict=True)]  # fmt: skip
        for per_seed, edge in zip(m["hard_negatives"], edges, strict=True):
            for group, row in (per_seed or {}).items():
                g = groups.setdefault(group, {"units": [], "half": [], "thr": [], "edge": []})
                g["units"].append(row["units"])
                g["half"].append(row["over_half"])
                if row["over_fa05_threshold"] is not None:
                    g["thr"].append(row["over_fa05_threshold"])
                if edge and group in edge:
                    g["edge"].append(edge[group])
    return [
        [group, sum(g["units"]), pct(mean(g["half"])), pct(mean(g["thr"])), pct(mean(g["edge"]))]
        for group, g in sorted(groups.items())
    ]


def rule_means(r: Record, model: str) -> dict[str, dict[str, float | None]]:
    """Each alert rule's means over every split and seed the model has."""
    seen: dict[str, dict[str, list[float | None]]] = {}
    for split in r["splits"].values():
        for per_seed in split["models"].get(model, {}).get("alert_rules", []):
            for rule, got in (per_seed or {}).items():
                into = seen.setdefault(rule, {})
                for key, value in got.items():
                    into.setdefault(key, []).append(value)
    return {rule: {k: mean(v) for k, v in got.items()} for rule, got in seen.items()}


def rule_rows(rules: dict[str, dict[str, float | None]], shipped: str) -> list[list[object]]:
    return [
        [f"{rule} (shipped)" if rule == shipped else rule, pct(m["falls_alerted_3s"]),
         pct(m["falls_alerted"]), num(m["latency_s"], 1), pct(m["false_alarm_rate"])]
        for rule, m in rules.items()
    ]  # fmt: skip


def youden(m: dict[str, float | None]) -> float:
    """Falls alerted within 3 s minus negatives alerted: one rule's trade-off in a number."""
    return (m["falls_alerted_3s"] or 0.0) - (1.0 if m["false_alarm_rate"] is None
                                             else m["false_alarm_rate"])  # fmt: skip


def rule_text(rules: dict[str, dict[str, float | None]], shipped: str) -> str:
    """Which rules meet both agent goals (or that none does), the best trade-off (Youden's
    J: falls within 3 s minus negatives alerted), and how the shipped rule compares."""
    if not rules:
        return "No alert rule was measured."
    both = [rule for rule, m in rules.items() if (m["falls_alerted_3s"] or 0) >= 0.9
            and m["false_alarm_rate"] is not None and m["false_alarm_rate"] <= 0.1]  # fmt: skip
    best = max(rules, key=lambda rule: youden(rules[rule]))
    b = rules[best]
    parts = [
        "Rules that meet both agent goals (90 % of falls within 3 s, at most 10 % of "
        "negatives alerted): " + ", ".join(f"`{rule}`" for rule in both) + "."
        if both else "No rule meets both agent goals (90 % of falls within 3 s, at most 10 % "
        "of negatives alerted).",
        f"The best trade-off (falls within 3 s minus negatives alerted) is `{best}`: "
        f"{pct(b['falls_alerted_3s'])} of falls within 3 s, {pct(b['false_alarm_rate'])} of "
        "negatives.",
    ]  # fmt: skip
    if shipped in rules and shipped != best:
        m = rules[shipped]
        parts.append(
            f"The agent ships `{shipped}`: {pct(m['falls_alerted_3s'])} within 3 s, "
            f"{pct(m['false_alarm_rate'])} of negatives."
        )
    elif shipped == best:
        parts.append("The agent ships it.")
    return " ".join(parts)


def cost_rows(r: Record) -> list[list[object]]:
    """Per student, over the runs that recorded it: weights, ms per window on one thread,
    training seconds, and those seconds over the student without KD's in the same run."""
    seen: dict[str, dict[str, list[float]]] = {}
    for split in r["splits"].values():
        for run in split.get("runs", []):
            timing = run.get("timing")
            if not timing:
                continue
            scratch = timing.get("student_scratch_s")
            for name, m in run["models"].items():
                seconds = timing.get(f"{name}_s")
                if name == "teacher" or name == EXPORTED or seconds is None:
                    continue
                row = seen.setdefault(name, {"params": [], "ms": [], "s": [], "ratio": []})
                row["params"].append(m.get("params") or 0)
                if m.get("ort_latency_ms") is not None:
                    row["ms"].append(m["ort_latency_ms"])
                row["s"].append(seconds)
                if scratch:
                    row["ratio"].append(seconds / scratch)
    return [
        [name, f"{mean(row['params']) / 1000:.0f} k", num(mean(row["ms"]), 2),
         num(mean(row["s"]), 0), num(mean(row["ratio"]), 2), len(row["s"])]
        for name, row in sorted(seen.items())
    ]  # fmt: skip


def current_rule(r: Record) -> str:
    """The fall rule the agent ships with, as the latest run recorded it."""
    return str(r.get("agent_rule", ONE_WINDOW))


def on_rule(m: dict[str, Any], key: str, rule: str) -> list[float | None]:
    """`m[key]` at the seeds whose agent ran `rule`."""
    rules = agent_rules(m)
    return [value for value, ran in zip(m[key], rules, strict=True) if ran == rule]


def goals_text(r: Record) -> str:
    """Each goal against the default student's mean over the leave-dataset-out splits."""
    model = r["default_student"]
    lodo = [s["models"][model] for s in r["splits"].values()
            if s["kind"] == "leave_dataset_out" and model in s["models"]]  # fmt: skip
    if not lodo:
        return "No leave-dataset-out split was run, so the goals are not checked."
    rule = current_rule(r)
    parts = []
    for key, op, goal, words in GOALS:
        agent = key.startswith("edge_")
        value = mean([mean(on_rule(m, key, rule) if agent else m[key]) for m in lodo])
        if value is None:
            parts.append(f"{words}: not measured" + (f" with `{rule}`" if agent else ""))
            continue
        met = value >= goal if op == ">=" else value <= goal
        words = f"{words} (`{rule}`)" if agent else words
        parts.append(f"{words} {pct(value)} (goal {op} {pct(goal)}: {'met' if met else 'not met'})")
    teacher = [s["models"].get("teacher") for s in r["splits"].values()
               if s["kind"] == "leave_dataset_out"]  # fmt: skip
    gap = mean([
        (mean(t["clip_auc"]) or 0) - (mean(m["clip_auc"]) or 0)
        for t, m in zip(teacher, lodo, strict=True) if t is not None
    ])  # fmt: skip
    if gap is not None:
        met = "met" if gap <= 0.03 else "not met"
        parts.append(f"clip AUC {num(gap, 2)} under the teacher's (goal <= 0.03: {met})")
    splits = len(lodo)
    shipped = sorted({name for s in r["splits"].values() for name in s.get("exported", [])})
    which = f" with these flags: {', '.join(f'`{n}`' for n in shipped)}" if shipped else ""
    return (
        f"The default student (`{model}`: what `vigil train pipeline` ships{which}), mean over "
        f"{splits} leave-dataset-out split{'s' if splits > 1 else ''}: " + "; ".join(parts) + "."
    )


def cost_table(r: Record) -> str:
    rows = cost_rows(r)
    if not rows:
        return "No run recorded its training times."
    header = ["student", "weights", "ms per window (1 thread)", "training s",
              "over no KD's", "runs"]  # fmt: skip
    return table(header, rows, align="l" + "r" * (len(header) - 1))


def runs_text(r: Record) -> str:
    """Which commit and command each (split, seed) ran: the JSON merges several runs."""
    seen: dict[tuple[str, str], list[str]] = {}
    for name, split in r["splits"].items():
        for run in split.get("runs", []):
            key = ((run.get("commit") or r.get("commit") or "?")[:10], run.get("command", "?"))
            seen.setdefault(key, []).append(f"{name} seed {run['seed']}")
    parts = [f"{', '.join(runs)} at commit {commit} (`{command}`)"
             for (commit, command), runs in seen.items()]  # fmt: skip
    return "Runs merged here: " + "; ".join(parts) + "." if parts else ""


def generalise_body(r: Record, img: Path) -> str:
    model = r["default_student"]
    s = r.get("settings", {})
    return fill(
        "generalise.md",
        runs=runs_text(r),
        recipe=f"--teacher {s.get('teacher', '?')} --epochs {s.get('epochs', '?')} "
        f"--teacher-epochs {s.get('teacher_epochs', '?')}"
        + (" --unlabeled TEST_SPLIT_VIDEOS" if s.get("unlabeled_heldout") else ""),
        table=table(HEADER, rows(r), align="lll" + "r" * (len(HEADER) - 3)),
        model=model,
        hard_negatives=table(
            [
                "negatives",
                "units",
                "scored over 0.5",
                "over the 5 % threshold",
                "agent alerted (shipped rule)",
            ],  # fmt: skip
            hard_negative_rows(r, model),
        ),
        goals=goals_text(r),
        rules=table(
            ["rule", "falls within 3 s", "falls alerted", "latency (s)", "negatives alerted"],
            rule_rows(rules := rule_means(r, model), current_rule(r)),
        ),
        rule_text=rule_text(rules, current_rule(r)),
        costs=cost_table(r),
    )


GENERALISE = Section("generalise.json", "python -m bench.generalise", generalise_body)


def agent_rule_rows(r: Record) -> list[list[object]]:
    """Per split and rule, then per rule over every split: the agent's own alerts."""
    out: list[list[object]] = []
    overall: dict[str, dict[str, list[float | None]]] = {}
    for name, split in r["splits"].items():
        for rule in r["rules"]:
            got = [run["rules"][rule] for run in split["runs"] if rule in run["rules"]]
            keys = ("edge_falls_alerted_3s", "edge_falls_alerted", "edge_false_alarm_rate")
            means = {key: mean([g[key] for g in got]) for key in keys}
            latency = mean([g["edge_latency_s"]["mean"] for g in got])
            into = overall.setdefault(rule, {key: [] for key in (*keys, "latency")})
            for key in keys:
                into[key].append(means[key])
            into["latency"].append(latency)
            out.append([name, f"`{rule}`", len(got), pct(means["edge_falls_alerted_3s"]),
                        pct(means["edge_falls_alerted"]), num(latency, 1),
                        pct(means["edge_false_alarm_rate"])])  # fmt: skip
    for rule, got in overall.items():
        out.append([
            f"mean of {len(got['latency'])} splits", f"`{rule}`", "",
            pct(mean(got["edge_falls_alerted_3s"])), pct(mean(got["edge_falls_alerted"])),
            num(mean(got["latency"]), 1), pct(mean(got["edge_false_alarm_rate"])),
        ])  # fmt: skip
    return out


def agent_rules_body(r: Record, img: Path) -> str:
    header = ["split", "rule", "runs", "falls within 3 s", "falls alerted", "latency (s)",
              "negatives alerted"]  # fmt: skip
    return fill(
        "generalise_rules.md",
        runs=runs_text(r),
        shipped=r["shipped_rule"],
        table=table(header, agent_rule_rows(r), align="llr" + "r" * (len(header) - 3)),
    )


GENERALISE_RULES = Section(
    "generalise_rules.json", "python -m bench.generalise_rules --split lodo_le2i", agent_rules_body
)


STAGE_KEYS = ("possible_within_3s", "possible_negatives", "decided_falls",
              "confirmed_of_decided", "confirmed_latency_s", "confirmed_negatives")  # fmt: skip


def stage_means(splits: dict[str, Any], rule: str) -> dict[str, float | None]:
    """One rule's figures: the mean over seeds in each split, then over splits."""
    per_split = [
        {key: mean([run["rules"][rule][key] for run in split["runs"]]) for key in STAGE_KEYS}
        for split in splits.values()
    ]
    return {key: mean([m[key] for m in per_split]) for key in STAGE_KEYS}


def stage_rows(r: Record) -> list[list[object]]:
    out: list[list[object]] = []
    for model, splits in r["models"].items():
        if not splits:
            continue
        runs = sum(len(split["runs"]) for split in splits.values())
        for rule in r["rules"]:
            m = stage_means(splits, rule)
            name = f"{rule} (shipped)" if rule == r["shipped"] else rule
            figures = [pct(m[key]) for key in STAGE_KEYS]
            figures[4] = num(m["confirmed_latency_s"], 1)
            out.append([model, name, f"{runs} in {len(splits)} splits", *figures])
    return out


def stages_body(r: Record, img: Path) -> str:
    header = ["student", "rule", "runs", "possible: falls within 3 s", "possible: negatives",
              "falls the clip lets decide", "of those, confirmed", "confirmed: latency (s)",
              "confirmed: negatives (the alarm)"]  # fmt: skip
    return fill(
        "generalise_stages.md",
        scores=f"{r['scores_from']['commit'] or '?'}"[:10],
        shipped=r["shipped"],
        table=table(header, stage_rows(r), align="llr" + "r" * (len(header) - 3)),
    )


GENERALISE_STAGES = Section(
    "generalise_stages.json", "python -m bench.generalise_stages", stages_body
)
