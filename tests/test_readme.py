"""The README's promises: short, its two commands first, the test command the one CI runs.

Everything else a reader needs lives in docs/, which tests/test_docs.py keeps true.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
MAX_LINES = 150
DEMO_OUTPUT_MARK = "<!-- demo output: vigil demo --quick --exit -->"
FENCED = re.compile(r"^```[^\n]*\n(.*?)^```$", re.S | re.M)


def code_blocks() -> list[str]:
    return [block.strip() for block in FENCED.findall(README)]


def test_ci_runs_exactly_the_readme_test_command() -> None:
    commands = re.findall(r"^python3 -m venv \.venv && .*pytest$", README, re.M)
    assert len(commands) == 1, "the README must give one test command"
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert commands[0] in ci


def test_the_readme_is_short() -> None:
    lines = len(README.splitlines())
    assert lines <= MAX_LINES, f"README.md has {lines} lines; move detail into docs/"


def test_the_two_commands_are_the_first_two_code_blocks() -> None:
    demo, tests = code_blocks()[:2]
    assert re.fullmatch(r"python3 -m venv \.venv && .* && \.venv/bin/vigil demo --quick", demo)
    assert tests in (REPO / ".ci" / "run").read_text().splitlines()


def test_the_demo_output_block_is_marked_with_its_command() -> None:
    assert README.count(DEMO_OUTPUT_MARK) == 1
    after = README.split(DEMO_OUTPUT_MARK, 1)[1]
    assert after.startswith("\n```\n"), "the demo output block must follow its mark"
