"""Real video datasets: clips of a folder, their time spans, splits, and `dataset info`.

numpy/OpenCV/pydantic only (no torch): the edge and the CLI import it too.
"""

from shared.datasets.folder import MANIFEST_NAME, ManifestError, load_folder, scan_folder
from shared.datasets.records import ClipRecord, Span, normalise_label
from shared.datasets.report import FolderReport, describe_folder
from shared.datasets.report_text import format_report
from shared.datasets.spans import parse_spans, span_label_at
from shared.datasets.splits import Splits, parse_where, split_records

__all__ = [
    "MANIFEST_NAME",
    "ClipRecord",
    "FolderReport",
    "ManifestError",
    "Span",
    "Splits",
    "describe_folder",
    "format_report",
    "load_folder",
    "normalise_label",
    "parse_spans",
    "parse_where",
    "scan_folder",
    "split_records",
    "span_label_at",
]
