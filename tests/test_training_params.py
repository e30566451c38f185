"""Training settings are declared once (`TrainingParams`) and reach every way in by name.

For every field, a value other than its default is set from the command line, from a
training job (through the spec file its subprocess reads), from the demo's plan and
from bench/kd_quality.py's flags, and arrives unchanged in the run's `PipelineConfig`.
"""

from __future__ import annotations

import argparse
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pytest

from bench.kd_quality import parse_args as kd_quality_args
from cloud.demo import QUICK, DemoPlan
from cloud.service.schemas import TrainingJobCreate
from cloud.training.cli import pipeline_config as cli_config
from cloud.training.job import pipeline_config as job_config
from cloud.training.job_spec import JobSpec, SyntheticDataset
from cloud.training.params import (
    TRAINING_FIELDS,
    TrainingParams,
    _scalar_type,
    flag_of,
    params_from_args,
)
from shared.cli import build_parser
from shared.cli import main as vigil

# Values the generic rule below cannot guess (a text field with a format).
TEXT_VALUES = {"test_where": "camera=2", "val_where": "trial=1"}


def other_value(name: str) -> Any:
    """A valid value of the field that is not its default."""
    field = TrainingParams.model_fields[name]
    kind = _scalar_type(field.annotation)
    default = field.default
    if name in TEXT_VALUES:
        return TEXT_VALUES[name]
    if kind is bool:
        return not default
    if get_origin(kind) is Literal:
        return next(v for v in get_args(kind) if v != default)
    if isinstance(kind, type) and issubclass(kind, StrEnum):
        return next(member for member in kind if member != default)
    if kind is int:
        return (default or 1) + 1
    if kind is float:
        return round((default or 0.0) + 0.05, 4)
    raise AssertionError(f"no test value for {name}: {field.annotation}")


def flag_args(name: str, value: Any) -> list[str]:
    if isinstance(value, bool):
        return [flag_of(name) if value else "--no-" + flag_of(name)[2:]]
    return [flag_of(name), str(value)]


def test_every_setting_says_what_it_means() -> None:
    for name, field in TrainingParams.model_fields.items():
        assert field.description and len(field.description) > 12, name


@pytest.mark.parametrize("name", TRAINING_FIELDS)
def test_a_setting_reaches_the_run_from_the_command_line(name: str, tmp_path: Path) -> None:
    value = other_value(name)
    base = ["train", "pipeline", "--data", str(tmp_path), "--out", str(tmp_path / "run")]
    args = build_parser().parse_args([*base, *flag_args(name, value)])
    params = cli_config(args, args.out).params
    assert getattr(params, name) == value
    assert params.model_dump(exclude={name}) == TrainingParams().model_dump(exclude={name})


@pytest.mark.parametrize("name", TRAINING_FIELDS)
def test_a_setting_reaches_the_run_from_a_training_job(name: str, tmp_path: Path) -> None:
    value = other_value(name)
    job = TrainingJobCreate.model_validate({"dataset": "synthetic", name: value})
    assert isinstance(job.dataset, SyntheticDataset)
    spec = JobSpec(params=job.training_params(), job_dir=tmp_path, synthetic=job.dataset)
    read_back = JobSpec.model_validate_json(spec.model_dump_json())  # what the subprocess reads
    assert getattr(job_config(read_back, tmp_path).params, name) == value


@pytest.mark.parametrize("name", TRAINING_FIELDS)
def test_a_setting_reaches_the_run_from_the_demo(name: str) -> None:
    value = other_value(name)
    plan = DemoPlan(QUICK.scenes, QUICK.params.model_copy(update={name: value}))
    posted = plan.job()
    assert posted[name] == (value.value if isinstance(value, StrEnum) else value)
    assert getattr(TrainingJobCreate.model_validate(posted).training_params(), name) == value


@pytest.mark.parametrize("name", sorted(set(TRAINING_FIELDS) - {"test_where", "val_where", "seed"}))
def test_a_setting_reaches_the_run_from_the_kd_benchmark(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    value = other_value(name)
    argv = ["kd_quality", "--dataset", "synthetic", *flag_args(name, value)]
    monkeypatch.setattr("sys.argv", argv)
    args = kd_quality_args()
    assert getattr(params_from_args(args), name) == value


def test_a_bad_value_names_its_flag_and_trains_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["train", "pipeline", "--data", str(tmp_path), "--out", str(tmp_path / "run")]
    assert vigil([*base, "--epochs", "0", "--test-where", "camera"]) == 2
    err = capsys.readouterr().err
    assert "--epochs: Input should be greater than or equal to 1" in err
    assert "--test-where: Value error, cannot read the selection 'camera'" in err
    assert not (tmp_path / "run").exists()


def test_a_typo_in_a_setting_is_refused_everywhere() -> None:
    with pytest.raises(ValueError, match="extra"):
        TrainingParams.model_validate({"epoch": 3})
    with pytest.raises(ValueError, match="extra"):
        TrainingJobCreate.model_validate({"dataset": "synthetic", "hop": 0.25})
    with pytest.raises(ValueError, match="not training settings"):
        from cloud.training.params import add_training_flags

        add_training_flags(argparse.ArgumentParser(), skip=("hop",))
