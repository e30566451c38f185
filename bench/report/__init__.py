"""Render docs/BENCHMARKS.md (and its PNG figures) from bench/results/*.json.

    python -m bench.report                 # -> docs/BENCHMARKS.md, docs/img/*.png

Every figure in the document comes from a result JSON: a section whose JSON is absent
says "not run" and names the command that writes it. The document's structure and fixed
prose are bench/report/templates/*.md; the bench/report/*.py modules compute what fills them,
each sentence that states a result from the numbers beside it.
"""

from __future__ import annotations

from pathlib import Path

from bench.common import REPO
from bench.report.alerts import ALERTS, ALERTS_ONE_STAGE
from bench.report.crop import motion_crop_section
from bench.report.edge import EDGE, model_size_section
from bench.report.generalise import GENERALISE, GENERALISE_RULES, GENERALISE_STAGES
from bench.report.http_drain import HTTP_DRAIN
from bench.report.ingest import ingest_section
from bench.report.kd import kd_section
from bench.report.markdown import fill
from bench.report.results import Results
from bench.report.robustness import BAD_INPUTS, FAULTS
from bench.report.soak import SOAK
from bench.report.student_size import student_size_section
from bench.report.unlabeled import unlabeled_amount_section
from bench.report.window_phase import WINDOW_PHASE

DOC = REPO / "docs" / "BENCHMARKS.md"


def render(results_dir: Path, img: Path) -> str:
    """The whole document; writes its figures under `img`."""
    results = Results(results_dir)
    return (
        fill(
            "BENCHMARKS.md",
            generalise=GENERALISE.render(results, img),
            generalise_rules=GENERALISE_RULES.render(results, img),
            generalise_stages=GENERALISE_STAGES.render(results, img),
            kd=kd_section(results, img),
            student_size=student_size_section(results, img),
            unlabeled_amount=unlabeled_amount_section(results, img),
            motion_crop=motion_crop_section(results),
            edge_throughput=EDGE.render(results, img),
            ingest=ingest_section(results),
            http_drain=HTTP_DRAIN.render(results, img),
            alert_latency=ALERTS.render(results, img),
            alert_latency_one_stage=ALERTS_ONE_STAGE.render(results, img),
            window_phase=WINDOW_PHASE.render(results, img),
            soak=SOAK.render(results, img),
            faults=FAULTS.render(results, img),
            bad_inputs=BAD_INPUTS.render(results, img),
            model_size=model_size_section(results),
        )
        + "\n"
    )
