"""Every CLI error is one line, no traceback, a non-zero exit: a file that is not a model,
a checkpoint that is not ours, a model that is not there."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.cli import main
from tests.kit.factories import write_test_video


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    """The error line; before it, at most progress lines (no traceback, no other error)."""
    lines = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in "\n".join(lines), lines
    assert lines[-1].startswith("vigil: error: "), lines
    assert not any("error" in line.lower() for line in lines[:-1]), lines
    return lines[-1]


def test_eval_of_a_file_that_is_not_onnx(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "student.onnx"
    bad.write_text("not a model")
    assert main(["eval", str(bad), "--data", str(tmp_path)]) == 2
    assert f"{bad} is not an ONNX model onnxruntime can load" in one_line_error(capsys)
    assert main(["eval", str(tmp_path / "missing.onnx"), "--data", str(tmp_path)]) == 2
    assert "missing.onnx: no such model file" in one_line_error(capsys)


def test_export_of_a_checkpoint_that_is_not_ours(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "student.pt"
    bad.write_bytes(b"\x80\x04junk")
    assert main(["export", str(bad), "--out", str(tmp_path / "out.onnx")]) == 2
    assert f"{bad} is not a Vigil checkpoint (a .pt file `vigil train` wrote)" in one_line_error(
        capsys
    )
    assert not (tmp_path / "out.onnx").exists()


def test_train_names_the_one_corrupt_video_and_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    for label in ("falling", "walking"):
        for i in range(3):
            write_test_video(data / label / f"{label}{i}.mp4", frames=30, size=32, seed=i)
    broken = data / "walking" / "broken.mp4"
    broken.write_text("not a video")
    argv = ["train", "pipeline", "--data", str(data), "--out", str(tmp_path / "run"),
            "--epochs", "1", "--teacher-epochs", "1"]  # fmt: skip
    assert main(argv) == 2
    err = one_line_error(capsys)
    assert f"{broken}: OpenCV cannot open it as a video" in err
    assert err.endswith("replace or remove that file and run again")
