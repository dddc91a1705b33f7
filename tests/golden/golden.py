"""Golden regression cases (tests/golden/README.md): each case is a folder holding the command line
(`cmd`), perhaps its own model (`*.dsl`), and the expected output (`expected`: exit status,
stdout, stderr), written by `python3 scripts/golden.py --update` and checked by test_golden.py.

The command runs in-process (`objcg_proof.cli.dispatch.main`), in the case's folder when the case
holds its own model, else at the repository root (so shipped models print as `models/x.dsl`).
Run times vary from run to run, so every `1.23s` in the output is written as `<time>`.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from objcg_proof.cli.dispatch import main

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PROGRAM = "objcg-prove"
TIME = re.compile(r"\b\d+\.\d+s\b")


@dataclass(frozen=True)
class Case:
    folder: Path

    @property
    def name(self) -> str:
        return str(self.folder.relative_to(HERE))

    @property
    def argv(self) -> list[str]:
        """The command line of `cmd`: its one line that is not a `#` comment, program name first."""
        lines = [line for line in (self.folder / "cmd").read_text(encoding="utf-8").splitlines()
                 if line.strip() and not line.lstrip().startswith("#")]
        assert len(lines) == 1, f"{self.folder / 'cmd'}: want one command line, found {len(lines)}"
        words = shlex.split(lines[0])
        assert words and words[0] == PROGRAM, f"{self.folder / 'cmd'}: the command line starts with {PROGRAM}"
        return words[1:]

    @property
    def cwd(self) -> Path:
        return self.folder if any(self.folder.glob("*.dsl")) else ROOT

    @property
    def expected_file(self) -> Path:
        return self.folder / "expected"


def cases() -> list[Case]:
    """Every case: each folder below tests/golden/ holding a `cmd` file, in path order."""
    return [Case(cmd.parent) for cmd in sorted(HERE.rglob("cmd"))]


@contextlib.contextmanager
def working_directory(path: Path) -> Iterator[None]:
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def run(case: Case) -> str:
    """The case's output as its `expected` file holds it."""
    out, err = io.StringIO(), io.StringIO()
    with working_directory(case.cwd):
        rc = main(case.argv, out, err)
    return render(rc, out.getvalue(), err.getvalue())


def render(rc: int, out: str, err: str) -> str:
    def block(text: str) -> str:
        return TIME.sub("<time>", text) + ("" if not text or text.endswith("\n") else "\n(no newline at the end)\n")
    return f"exit status {rc}\n--- stdout\n{block(out)}--- stderr\n{block(err)}"
