"""A structural lint of deploy/Dockerfile.* (hadolint is not available offline): pinned
bases, a non-root user, the right extra per image, and a build context that holds what
the COPY lines need and nothing secret.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.kit.deploy import DEPLOY, REPO

DOCKERFILES = {kind: DEPLOY / f"Dockerfile.{kind}" for kind in ("service", "worker", "edge")}
PINNED_IMAGE = re.compile(r"^[a-z0-9./_-]+:\d[\w.-]*(@sha256:[0-9a-f]{64})?$|@sha256:[0-9a-f]{64}$")
ARCH_SPECIFIC = re.compile(r"amd64|x86_64|aarch64|arm64|armv7|\.whl\b|https?://", re.IGNORECASE)


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


def instructions(path: Path) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped."""
    out: list[Instruction] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        out.append(Instruction(keyword.upper(), args.strip()))
        pending = ""
    assert not pending, f"{path.name}: a continuation line runs off the end"
    return out


def arg_defaults(steps: list[Instruction]) -> dict[str, str]:
    defaults = {}
    for step in steps:
        if step.keyword == "ARG" and "=" in step.args:
            name, _, value = step.args.partition("=")
            defaults[name] = value
    return defaults


def base_images(steps: list[Instruction]) -> list[str]:
    defaults = arg_defaults(steps)
    stages = {s.args.split()[2] for s in steps if s.keyword == "FROM" and " AS " in s.args.upper()}
    images = []
    for step in steps:
        if step.keyword == "FROM":
            image = re.sub(r"\$\{(\w+)\}", lambda m: defaults[m.group(1)], step.args.split()[0])
            if image not in stages:
                images.append(image)
    return images


def final_stage(steps: list[Instruction]) -> list[Instruction]:
    last_from = max(i for i, s in enumerate(steps) if s.keyword == "FROM")
    return steps[last_from:]


@pytest.mark.parametrize("kind", sorted(DOCKERFILES))
def test_base_images_are_pinned(kind: str) -> None:
    steps = instructions(DOCKERFILES[kind])
    images = base_images(steps)
    assert images, "no FROM"
    for image in images:
        assert PINNED_IMAGE.match(image), f"{kind}: pin {image!r} to a version (or digest)"
    assert "latest" not in DOCKERFILES[kind].read_text()


@pytest.mark.parametrize("kind", sorted(DOCKERFILES))
def test_the_image_runs_as_a_non_root_user(kind: str) -> None:
    users = [s.args for s in final_stage(instructions(DOCKERFILES[kind])) if s.keyword == "USER"]
    assert users, f"{kind}: no USER in the final stage"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), f"{kind}: runs as {users[-1]}"


@pytest.mark.parametrize("kind", sorted(DOCKERFILES))
def test_the_entrypoint_is_the_vigil_command(kind: str) -> None:
    entry = [s.args for s in instructions(DOCKERFILES[kind]) if s.keyword == "ENTRYPOINT"]
    assert entry == ['["vigil"]']


def test_the_worker_image_installs_cpu_torch_and_checks_its_health() -> None:
    steps = instructions(DOCKERFILES["worker"])
    runs = " ".join(s.args for s in steps if s.keyword == "RUN")
    assert "https://download.pytorch.org/whl/cpu" in runs
    assert '"torch==2.13.0"' in runs or "torch==2.13.0 " in runs
    assert '".[cloud]"' in runs
    pyproject = (REPO / "pyproject.toml").read_text()
    assert '"torch==2.13.0"' in pyproject, "the image's torch pin must match pyproject.toml"
    checks = [s.args for s in final_stage(steps) if s.keyword == "HEALTHCHECK"]
    assert len(checks) == 1 and ":9100/metrics" in checks[0]
    assert [s.args for s in steps if s.keyword == "CMD"][-1].startswith('["worker"')


def test_the_service_image_has_the_service_extra_and_no_training_stack() -> None:
    text = DOCKERFILES["service"].read_text()
    steps = instructions(DOCKERFILES["service"])
    runs = " ".join(s.args for s in steps if s.keyword == "RUN")
    assert '".[service]"' in runs and "[cloud]" not in text and "[train]" not in text
    assert "download.pytorch.org" not in text
    assert "find_spec('torch') is None" in runs  # the build fails if torch crept in
    checks = [s.args for s in final_stage(steps) if s.keyword == "HEALTHCHECK"]
    assert len(checks) == 1 and "/healthz" in checks[0]
    cmd = [s.args for s in steps if s.keyword == "CMD"][-1]
    assert cmd.startswith('["serve"') and '"--no-worker"' in cmd


def test_the_edge_image_installs_only_the_edge_extra_on_any_architecture() -> None:
    text = DOCKERFILES["edge"].read_text()
    assert "torch" not in text.lower(), "the edge image must never mention torch"
    steps = instructions(DOCKERFILES["edge"])
    runs = " ".join(s.args for s in steps if s.keyword == "RUN")
    assert '".[edge]"' in runs and "[cloud]" not in text
    for step in steps:
        if step.keyword in ("RUN", "ADD", "COPY", "FROM"):
            assert not ARCH_SPECIFIC.search(step.args), f"architecture-specific: {step.args}"
    assert not any(s.keyword == "ADD" for s in steps), "ADD fetches URLs; use COPY"


def ignore_pattern(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regex: `*` and `?` stay within a folder, `**` spans."""
    out = ""
    for token in re.split(r"(\*\*/|\*\*|\*|\?)", pattern.rstrip("/")):
        out += {"**/": "(.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(token, re.escape(token))
    return re.compile(out)


def dockerignore_excludes(path: str) -> bool:
    """Docker's rule: the last pattern matching the path, or a folder above it, wins;
    `!` re-includes (moby/patternmatcher)."""
    lines = (REPO / ".dockerignore").read_text().splitlines()
    rules = [
        (ln.startswith("!"), ignore_pattern(ln.lstrip("!"))) for ln in lines if ln and ln[0] != "#"
    ]
    parts = Path(path).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for negated, regex in rules:
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            excluded = not negated
    return excluded


@pytest.mark.parametrize("kind", sorted(DOCKERFILES))
def test_the_build_context_holds_what_copy_needs(kind: str) -> None:
    for step in instructions(DOCKERFILES[kind]):
        if step.keyword != "COPY" or step.args.startswith("--from"):
            continue
        *sources, _dest = step.args.split()
        for source in sources:
            assert (REPO / source).exists(), f"{kind}: COPY {source}: no such path"
            assert not dockerignore_excludes(source), f"{kind}: .dockerignore drops {source}"


@pytest.mark.parametrize(
    "path", [".venv/bin/python", ".git/config", "edge.env", "deploy/out/edge.env", "runs/x.pt"]
)
def test_the_build_context_leaves_out_secrets_and_bulk(path: str) -> None:
    assert dockerignore_excludes(path)
