"""Golden regression cases (tests/golden/README.md): each case is a folder holding the command line
(`cmd`), perhaps its own model (`*.dsl`), and the expected output (`expected`: exit status,
stdout, stderr), written by `python3 scripts/golden.py --update` and checked by test_golden.py.

The command runs as `python3 -m objcg_proof ARGS` (this checkout's package first on PYTHONPATH),
in a fresh process: z3 may pick another counterexample when the same model is proved a second
time in one process (NOTE(golden-process) below). It runs in the case's folder when the case
holds its own model, else at the repository root (so shipped models print as `models/x.dsl`).
Run times vary from run to run, so every `1.23s` in the output is written as `<time>`.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

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


# NOTE(golden-process): the verdicts of a model do not depend on what ran before in the process,
# but its counterexamples can: proving models/examples/counter.dsl twice in one process gives two
# different (equally valid) interleavings of its 10-step trace (most likely because z3's context,
# shared by the whole process, still holds the first run's terms). A fresh process per case gives
# the same output on every run (with the same z3), as the `objcg-prove` command does.
def run(case: Case) -> str:
    """The case's output as its `expected` file holds it."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.pop("OBJCG_PROVE_DEBUG", None)
    done = subprocess.run([sys.executable, "-m", "objcg_proof", *case.argv], cwd=case.cwd, env=env,
                          capture_output=True, text=True, timeout=600)
    return render(done.returncode, done.stdout, done.stderr)


def render(rc: int, out: str, err: str) -> str:
    def block(text: str) -> str:
        return TIME.sub("<time>", text) + ("" if not text or text.endswith("\n") else "\n(no newline at the end)\n")
    return f"exit status {rc}\n--- stdout\n{block(out)}--- stderr\n{block(err)}"
