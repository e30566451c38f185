"""The docs tell the truth: references generated from the code, links that resolve.

Blocks of docs/ are rendered here from the code, between `<!-- generated: NAME -->` and
`<!-- end: NAME -->`: the settings tables of CONFIGURATION.md (the pydantic settings
models), the route table of API.md (`create_app`'s routes) and the `--help` of
`vigil train pipeline` (TRAINING.md) and `vigil edge run` (EDGE.md). The tests fail when
the committed text differs; rewrite the blocks on purpose with

    .venv/bin/python -m tests.test_docs --write
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
import pytest
from pydantic import AliasChoices, BaseModel, SecretStr
from pydantic.fields import FieldInfo

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
CONFIGURATION = DOCS / "CONFIGURATION.md"
API = DOCS / "API.md"
TRAINING = DOCS / "TRAINING.md"
EDGE = DOCS / "EDGE.md"
BENCHMARKS = DOCS / "BENCHMARKS.md"
# What a reader reads: the README and docs/ (BENCHMARKS.md included for its links).
READ = [REPO / "README.md", *sorted(DOCS.glob("*.md"))]
# Written by hand, so held to today's command forms (BENCHMARKS.md quotes old runs' commands).
HANDWRITTEN = [doc for doc in READ if doc != BENCHMARKS]


# -- settings ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """One leaf setting (or an optional section) of a settings model."""

    path: tuple[str, ...]
    field: FieldInfo
    env: tuple[str, ...]  # the names that set it

    @property
    def key(self) -> str:
        return ".".join(self.path)

    def default(self) -> Any:
        factory = self.field.default_factory
        return factory() if factory is not None else self.field.default


def section_of(annotation: Any) -> type[BaseModel] | None:
    """The model a field nests (`Section` or `Section | None`), else None."""
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def is_optional(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation)


def env_names(name: str, field: FieldInfo, prefix: str) -> tuple[str, ...]:
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return tuple(str(choice) for choice in alias.choices)
    return (f"{prefix}{name.upper()}",)


def settings_of(
    model: type[BaseModel], prefix: str = "VIGIL_", path: tuple[str, ...] = ()
) -> Iterator[Setting]:
    """Every setting of `model`, nested sections walked (`VIGIL_EVENTS__THRESHOLDS__...`)."""
    for name, field in model.model_fields.items():
        env = env_names(name, field, prefix)
        section = section_of(field.annotation)
        if section is None:
            yield Setting((*path, name), field, env)
            continue
        if is_optional(field.annotation):
            yield Setting((*path, name), field, env)
        yield from settings_of(section, f"{env[0]}__", (*path, name))


def render_value(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, Enum):
        return f"`{value.value}`"
    if isinstance(value, list | tuple):
        return f"`{json.dumps([str(v) for v in value])}`"
    return f"`{value}`"


BOUNDS = {
    annotated_types.Ge: (">=", "ge"),
    annotated_types.Gt: (">", "gt"),
    annotated_types.Le: ("<=", "le"),
    annotated_types.Lt: ("<", "lt"),
}


def allowed(field: FieldInfo) -> str:
    """The values a field takes: its choices, its bounds, its length."""
    for annotation in (field.annotation, *get_args(field.annotation)):
        if get_origin(annotation) is Literal:
            return ", ".join(f"`{choice}`" for choice in get_args(annotation))
    parts = []
    for meta in field.metadata:
        if type(meta) in BOUNDS:
            sign, attribute = BOUNDS[type(meta)]
            parts.append(f"{sign} {getattr(meta, attribute)}")
        if isinstance(meta, annotated_types.MaxLen):
            parts.append(f"at most {meta.max_length} characters")
    return ", ".join(parts)


def environment(setting: Setting) -> str:
    return " or ".join(f"`{name}`" for name in setting.env)


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def settings_table(settings: list[Setting]) -> list[str]:
    rows = [
        "| setting | environment | default | allowed | meaning |",
        "| --- | --- | --- | --- | --- |",
    ]
    for s in settings:
        described = s.field.description or ""
        rows.append(
            f"| `{s.key}` | {environment(s)} | {cell(render_value(s.default()))} | "
            f"{cell(allowed(s.field))} | {cell(described)} |"
        )
    return rows


def settings_reference(model: type[BaseModel]) -> str:
    """Tables of `model`'s settings: one for its own fields, one per nested section."""
    prefix = str(model.model_config.get("env_prefix", ""))
    everything = list(settings_of(model, prefix))
    top = [s for s in everything if len(s.path) == 1]
    lines = settings_table(top)
    for name, field in model.model_fields.items():
        if section_of(field.annotation) is None or is_optional(field.annotation):
            continue
        lines += ["", f"### `{name}`: {field.description}", ""]
        lines += settings_table([s for s in everything if s.path[0] == name and len(s.path) > 1])
    return "\n".join(lines)


def service_settings() -> str:
    from cloud.service.settings import Settings

    return settings_reference(Settings)


def edge_settings() -> str:
    from edge.config import EdgeSettings

    return settings_reference(EdgeSettings)


# -- routes ------------------------------------------------------------------------------

# Roles, most specific first: the dependency that admits each (cloud/service/api/deps.py).
ROLES = (
    ("get_admin", "admin"),
    ("get_viewer", "viewer, admin"),
    ("get_stream_viewer", "viewer, admin (token also as `?token=`)"),
    ("get_device", "device (its own)"),
    ("get_principal", "any token"),
)
# Routes FastAPI itself adds, which have no docstring of ours.
FRAMEWORK_ROUTES = {
    "/api/v1/openapi.json": "The OpenAPI schema of this API.",
    "/docs": "Swagger UI over the OpenAPI schema.",
    "/docs/oauth2-redirect": "Swagger UI's OAuth2 redirect page.",
    "/redoc": "ReDoc over the OpenAPI schema.",
}
MOUNTS = {"/dashboard": "The dashboard's scripts and styles (static files)."}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    who: str
    what: str


def dependency_names(dependant: Any) -> set[str]:
    names = set()
    for dep in dependant.dependencies:
        names.add(getattr(dep.call, "__name__", ""))
        names |= dependency_names(dep)
    return names


def who_may_call(route: Any) -> str:
    dependant = getattr(route, "dependant", None)
    names = dependency_names(dependant) if dependant is not None else set()
    return next((who for name, who in ROLES if name in names), "no token")


def what_it_does(path: str, endpoint: Callable[..., Any] | None) -> str:
    doc = (endpoint.__doc__ or "").strip() if endpoint is not None else ""
    what = doc.split("\n\n")[0].replace("\n", " ") or FRAMEWORK_ROUTES.get(path, "")
    if not what:
        raise ValueError(f"route {path} has no docstring to document it by")
    return what


def app_routes() -> list[Route]:
    """Every route `vigil serve` builds, HEAD aside, in the app's order."""
    from fastapi.routing import iter_route_contexts
    from starlette.routing import Mount

    from cloud.service.app import create_app
    from cloud.service.settings import Settings

    app = create_app(Settings(env="development", admin_token="x" * 32))
    routes = []
    for context in iter_route_contexts(app.routes):
        path = str(context.path)
        if isinstance(context.original_route, Mount):
            routes.append(Route("GET", f"{path}/...", "no token", MOUNTS[path]))
            continue
        what = what_it_does(path, context.endpoint)
        for method in sorted(m for m in context.methods or () if m != "HEAD"):
            routes.append(Route(method, path, who_may_call(context.route), what))
    return routes


def api_routes() -> str:
    rows = ["| method | path | who may call | what it does |", "| --- | --- | --- | --- |"]
    for r in app_routes():
        rows.append(f"| {r.method} | `{r.path}` | {r.who} | {cell(r.what)} |")
    return "\n".join(rows)


# -- command help ------------------------------------------------------------------------

HELP_COLUMNS = "100"


def command_help(*argv: str) -> str:
    """`vigil ARGV --help` as a fenced block, at a fixed width (argparse reads COLUMNS)."""
    from shared.cli import build_parser

    out = io.StringIO()
    before = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_COLUMNS
    try:
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            build_parser().parse_args([*argv, "--help"])
    finally:
        if before is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = before
    command = " ".join(["vigil", *argv, "--help"])
    return f"```text\n$ COLUMNS={HELP_COLUMNS} {command}\n{out.getvalue().rstrip()}\n```"


def train_pipeline_help() -> str:
    return command_help("train", "pipeline")


def edge_run_help() -> str:
    return command_help("edge", "run")


# -- generated blocks --------------------------------------------------------------------

GENERATED: dict[str, tuple[Path, Callable[[], str]]] = {
    "service-settings": (CONFIGURATION, service_settings),
    "edge-settings": (CONFIGURATION, edge_settings),
    "api-routes": (API, api_routes),
    "train-pipeline-help": (TRAINING, train_pipeline_help),
    "edge-run-help": (EDGE, edge_run_help),
}


def block_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- generated: {name} -->\n)(.*?)(<!-- end: {name} -->)", re.S)


def committed_block(name: str) -> str:
    path, _ = GENERATED[name]
    found = block_pattern(name).search(path.read_text())
    assert found is not None, f"{path.name} lacks its generated block {name!r}"
    return found.group(2)


def write_blocks() -> None:
    for name, (path, render) in GENERATED.items():
        text = path.read_text()
        if not block_pattern(name).search(text):
            raise SystemExit(f"{path}: no block `<!-- generated: {name} -->` to fill")
        body = render() + "\n"
        text = block_pattern(name).sub(lambda m, body=body: m.group(1) + body + m.group(3), text)
        path.write_text(text)
        print(f"wrote {name} into {path.relative_to(REPO)}")


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_reference_is_what_the_code_declares(name: str) -> None:
    _, render = GENERATED[name]
    assert committed_block(name) == render() + "\n", (
        f"the {name} block is out of date: run `.venv/bin/python -m tests.test_docs --write`"
    )


def test_every_route_is_in_the_api_reference() -> None:
    text = API.read_text()
    missing = [
        f"{r.method} {r.path}" for r in app_routes() if f"| {r.method} | `{r.path}` |" not in text
    ]
    assert not missing, f"docs/API.md lacks {missing}"


def all_settings() -> list[Setting]:
    from cloud.service.settings import Settings
    from edge.config import EdgeSettings

    return [*settings_of(Settings), *settings_of(EdgeSettings)]


def test_every_setting_is_in_the_configuration_reference() -> None:
    text = CONFIGURATION.read_text()
    missing = [s.key for s in all_settings() if f"| `{s.key}` |" not in text]
    undescribed = [s.key for s in all_settings() if not (s.field.description or "").strip()]
    assert not missing, f"docs/CONFIGURATION.md lacks {missing}"
    assert not undescribed, f"settings without Field(description=...): {undescribed}"


# A value other than the default for each setting whose type alone does not give one.
SAMPLES = {
    "env": "development",
    "admin_token": "b" * 32,
    "database_url": "sqlite:///other.db",
    "mqtt_url": "mqtt://broker:1883",
    "dataset_roots": '["/srv/datasets"]',
    "public_base_url": "https://vigil.example",
    "alert_webhook_url": "https://hooks.example/vigil",
    "cloud_url": "https://vigil.example",
    "mqtt.url": "mqtts://broker:8883",
    "capture.start_time": "2026-01-01T00:00:00+00:00",
    "events.lying_labels": '["lying"]',
    "events.thresholds.fall_windows": "1",  # at most fall_span (2): the one other valid count
    "clips.resolution": '{"width": 640, "height": 480}',
}


def sample(setting: Setting) -> Any:
    """A valid value for `setting` that is not its default."""
    if setting.key in SAMPLES:
        return SAMPLES[setting.key]
    default = setting.default()
    annotation = setting.field.annotation
    kinds = [a for a in (annotation, *get_args(annotation)) if a is not type(None)]
    if bool in kinds:
        return str(not default).lower()
    if int in kinds:
        return str((default or 0) + 1)
    if float in kinds:
        return round(default * 0.9, 6) if default else 1.0
    return "x1"


def value_at(settings: BaseModel, path: tuple[str, ...]) -> Any:
    value: Any = settings
    for name in path:
        value = getattr(value, name)
    return value.get_secret_value() if isinstance(value, SecretStr) else value


@pytest.mark.parametrize("setting", all_settings(), ids=lambda s: s.key)
def test_every_documented_environment_name_sets_its_setting(
    setting: Setting, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cloud.service.settings import Settings
    from edge.config import EdgeSettings, load_settings

    for name in [n for n in os.environ if n.startswith("VIGIL_")]:
        monkeypatch.delenv(name)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("VIGIL_ADMIN_TOKEN", "a" * 32)  # the service refuses to start without
    value = sample(setting)
    variables = {name: str(value) for name in setting.env}
    edge = setting.key in {s.key for s in settings_of(EdgeSettings)}
    for name, text in variables.items():  # each name on its own (DATABASE_URL, ...)
        with monkeypatch.context() as env:
            env.setenv(name, text)
            loaded = load_settings() if edge else Settings()
        assert value_at(loaded, setting.path) != setting.default(), (
            f"{name}={text} did not set {setting.key}"
        )


# -- links and commands ------------------------------------------------------------------

LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def links(doc: Path) -> list[tuple[str, str]]:
    return LINK.findall(FENCE.sub("", doc.read_text()))


@pytest.mark.parametrize("doc", READ, ids=lambda p: p.name)
def test_every_relative_link_resolves(doc: Path) -> None:
    broken = []
    for _, target in links(doc):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue
        if not (doc.parent / target.split("#")[0]).exists():
            broken.append(target)
    assert not broken, f"{doc.name} links to files that do not exist: {broken}"


def test_benchmark_sections_named_in_links_exist() -> None:
    """A link `[... § Window phase](BENCHMARKS.md)` names a section that BENCHMARKS.md has."""
    lines = BENCHMARKS.read_text().splitlines()
    headings = [line.lstrip("#").strip() for line in lines if line.startswith("#")]
    wrong = []
    for doc in HANDWRITTEN:
        for text, target in links(doc):
            if target.split("#")[0].endswith("BENCHMARKS.md") and "§" in text:
                section = " ".join(text.split("§", 1)[1].split())  # a link may wrap
                if not any(h.startswith(section) for h in headings):
                    wrong.append(f"{doc.name}: {section!r}")
    assert not wrong, f"BENCHMARKS.md has no such section: {wrong}"


OLD_FORMS = {
    r"python3? bench/\w+\.py": "python -m bench.NAME",
    r"--hop(?![-\w])": "--hop-s",
    r"--time-jitter(?![-\w])": "--time-jitter-s",
}


@pytest.mark.parametrize("doc", HANDWRITTEN, ids=lambda p: p.name)
def test_docs_use_todays_command_forms(doc: Path) -> None:
    text = doc.read_text()
    old = [
        f"{match.group(0)!r} (use {new})"
        for pattern, new in OLD_FORMS.items()
        for match in re.finditer(pattern, text)
    ]
    assert not old, f"{doc.name} uses old command forms: {old}"


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        raise SystemExit("usage: python -m tests.test_docs --write")
    write_blocks()
