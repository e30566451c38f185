"""Fault injection: what Vigil survives, counted event by event.

    python -m bench.faults                        # all five -> bench/results/faults.json
    python -m bench.faults --only broker_killed   # one (repeatable)

The very scenarios of tests/faults (tests/kit/fault_scenarios.py), all real processes
on 127.0.0.1: a private PostgreSQL cluster (initdb into a temporary folder, its own
port), Mosquitto on the shipped config, `vigil serve`, `vigil edge run` streaming a
colour video at its frame rate into them. Per fault: events the agent emitted (printed
after its outbox commit, plus what a killed agent left in its outbox), rows the cloud
stored, lost, duplicated, dropped by the outbox policy, and time to recover: from the
end of the fault until every event emitted before then was stored.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench.common import write_result
from tests.kit.edge import colour_model
from tests.kit.fault_scenarios import SCENARIOS, rig
from tests.kit.faults import PgCluster, pg_bin_dir


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", choices=sorted(SCENARIOS), default=None)
    parser.add_argument("--out", type=Path, default=None, help="JSON path (default: results)")
    parser.add_argument("--keep", type=Path, default=None, help="work here and keep the logs")
    args = parser.parse_args()
    bin_dir = pg_bin_dir()
    if bin_dir is None:
        print("faults: PostgreSQL server binaries not found", file=sys.stderr)
        return 2
    names = args.only or list(SCENARIOS)
    reports = []
    pg = PgCluster(bin_dir).init()
    pg.start()
    try:
        with tempfile.TemporaryDirectory(prefix="vigil-bench-faults-") as tmp:
            work = args.keep or Path(tmp)
            model = work / "student.onnx"
            model.write_bytes(colour_model("faults-1"))
            for name in names:
                started = time.monotonic()
                (work / name).mkdir()
                with rig(work / name, pg, model) as world:
                    report = SCENARIOS[name](world)
                row = {"scenario": name, **report.as_dict()}
                row["wall_s"] = round(time.monotonic() - started, 1)
                reports.append(row)
                print(summary(row), flush=True)
    finally:
        pg.destroy()
    survived = [survived_by(r) for r in reports]
    path = write_result(
        "faults.json",
        {"scenarios": reports, "survived": sum(survived), "of": len(reports)},
        args.out,
    )
    print(f"{sum(survived)}/{len(reports)} faults survived -> {path}")
    return 0 if all(survived) else 1


def survived_by(row: dict) -> bool:
    """No loss beyond the outbox's counted drops, none critical, nothing duplicated."""
    return (
        row["lost"] <= row["dropped_by_policy"]
        and row["critical_lost"] == 0
        and row["duplicated"] == 0
        and row["unexpected"] == 0
    )


def summary(row: dict) -> str:
    return (
        f"{row['scenario']:<20} emitted {row['emitted']:>3} ({row['critical_emitted']} critical)"
        f"  stored {row['stored']:>3}  lost {row['lost']} ({row['critical_lost']} critical)"
        f"  duplicated {row['duplicated']}  dropped {row['dropped_by_policy']}"
        f"  outage {row['outage_s']} s  recover {row['recover_s']} s  [{row['wall_s']} s]"
    )


if __name__ == "__main__":
    sys.exit(main())
