"""The README's promises: the test command CI runs, and every setting documented."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def test_ci_runs_exactly_the_readme_test_command() -> None:
    commands = re.findall(r"^python3 -m venv \.venv && .*pytest$", README, re.M)
    assert len(commands) == 1, "the README must give one test command"
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert commands[0] in ci


def env_names(model: type[BaseModel], prefix: str = "VIGIL_") -> list[str]:
    names = []
    for name, field in model.model_fields.items():
        nested = field.annotation
        if isinstance(nested, type) and issubclass(nested, BaseModel):
            names += env_names(nested, f"{prefix}{name.upper()}__")
        else:
            names.append(f"{prefix}{name.upper()}")
    return names


def test_every_setting_is_in_the_configuration_reference() -> None:
    from cloud.service.settings import Settings
    from edge.config import EdgeSettings

    missing = [n for n in env_names(Settings) + env_names(EdgeSettings) if f"`{n}`" not in README]
    assert not missing, f"README lacks {missing}"
