"""Shared helpers for the DSL semantics, diagnostics and CLI tests.

The `models` fixture works in a fresh temporary directory (also the current directory, so the
paths the tool prints are short and relative, e.g. `m.dsl:3:5`). Model texts are dedented and a
leading newline is dropped, so the first line of the text is line 1 of the file.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import textwrap
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from objcg_proof.cli.dispatch import main
from objcg_proof.lang.diagnostics import SourceCache
from objcg_proof.lang.parser import load_model
from objcg_proof.lang.resolve import resolve
from objcg_proof.prove.solver import SolverOptions
from objcg_proof.prove.verdict import ModelResult, PropertyResult
from objcg_proof.prove.verify import VerifyOptions, verify_path

STATUSES = {"proved", "bounded", "violated", "unknown", "vacuous"}
KINDS = {"leak", "uaf", "lost_update", "assert", "deadlock"}
BUILTIN = ("leak", "uaf", "deadlock")
FRESH_PROCESS = "OBJCG_TEST_FRESH_PROCESS"   # set in the process a `one_thread` test is run again in


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "one_thread: the test needs a process of one thread (work run apart, "
                                       "NOTE(apart) in prove/apart.py); where another test left a thread, it runs "
                                       "again in a new process, whose outcome is its own")


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """A `one_thread` test in a process with another thread (Dask's client leaves its own,
    tests/runner/test_dask.py, in whichever pytest worker ran it) runs in a new process instead:
    there work runs apart, as in a command's process; here it would run in this one."""
    if (pyfuncitem.get_closest_marker("one_thread") is None or threading.active_count() == 1
            or os.environ.get(FRESH_PROCESS)):
        return None
    left = sorted(t.name for t in threading.enumerate() if t is not threading.main_thread())
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                          pyfuncitem.nodeid], cwd=pyfuncitem.config.rootpath, capture_output=True, text=True,
                         env={**os.environ, FRESH_PROCESS: "1"}, timeout=1800)
    if run.returncode != 0 or " passed" not in run.stdout:
        pytest.fail(f"run again in a new process (this one has the threads {left}), it did not pass:\n"
                    f"{run.stdout[-6000:]}{run.stderr[-2000:]}", pytrace=False)
    return True


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def line_of(text: str, needle: str) -> int:
    """1-based line of the only line of `text` (dedented) containing `needle`."""
    hits = [i + 1 for i, line in enumerate(dedent(text).splitlines()) if needle in line]
    assert len(hits) == 1, f"{needle!r} occurs on lines {hits}"
    return hits[0]


def column_of(text: str, needle: str) -> int:
    """1-based column of `needle` on its (only) line."""
    line = dedent(text).splitlines()[line_of(text, needle) - 1]
    return line.index(needle) + 1


@dataclass
class CliRun:
    rc: int
    out: str
    err: str

    def json(self) -> dict[str, Any]:
        return json.loads(self.out)  # type: ignore[no-any-return]


@dataclass
class Models:
    root: Path

    def write(self, text: str, name: str = "m.dsl") -> str:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text), encoding="utf-8")
        return name

    def verify(self, text: str, name: str = "m.dsl", bound: int | None = None,
               defines: dict[str, int] | None = None, only: tuple[str, ...] = ()) -> ModelResult:
        path = self.write(text, name)
        options = VerifyOptions(bound=bound, defines=tuple((defines or {}).items()),
                                solver=SolverOptions(timeout_s=60), only=only)
        return verify_path(path, SourceCache(), options)

    def cli(self, *argv: str) -> CliRun:
        out, err = io.StringIO(), io.StringIO()
        rc = main(list(argv), out, err)
        return CliRun(rc, out.getvalue(), err.getvalue())

    def run(self, text: str, *argv: str, name: str = "m.dsl") -> CliRun:
        """Write the model and run the CLI on it with extra arguments."""
        self.write(text, name)
        return self.cli(name, *argv)


@pytest.fixture
def models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Models:
    monkeypatch.chdir(tmp_path)
    return Models(tmp_path)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project directory, also the current directory."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    return tmp_path


def statuses(result: ModelResult) -> dict[str, str]:
    return {p.name: p.status for p in result.properties}


def has_refcounted_object(result: ModelResult) -> bool:
    """Whether the verified model has an object of a refcounted struct (read off its layout)."""
    layout = resolve(load_model(result.path, SourceCache()), dict(result.params), result.bound).layout
    structs = {st.name: st for st in layout.structs}
    return any(structs[o.struct].refcounted for o in layout.objects)


def expect(result: ModelResult, **own: str) -> None:
    """Every property's status: the built-ins default to proved (leak only in a model with an
    object of a refcounted struct: without one the model has no leak property); `own` lists the
    rest (and may override the built-ins). The model must have exactly these properties."""
    want = {name: "proved" for name in BUILTIN if name != "leak" or has_refcounted_object(result)}
    want.update(own)
    assert statuses(result) == want


def prop(result: ModelResult, name: str) -> PropertyResult:
    found = [p for p in result.properties if p.name == name]
    assert len(found) == 1, f"no property {name!r} in {statuses(result)}"
    return found[0]


def last_step(result: ModelResult, name: str):  # type: ignore[no-untyped-def]
    p = prop(result, name)
    assert p.status == "violated" and p.trace is not None and p.trace.steps
    return p.trace.steps[-1]


def changes(result: ModelResult, name: str) -> list[str]:
    """Every change of every step of a property's counterexample, flattened."""
    p = prop(result, name)
    assert p.trace is not None
    return [c for s in p.trace.steps for c in s.changes]


DIAG_HEAD = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+):(?P<col>\d+): error: (?P<msg>.*)$")


def assert_diagnostic(run: CliRun, file: str, line: int, col: int, phrase: str, source: str | None = None) -> str:
    """Bad input: exit 2, no traceback, and `file:line:col: error: ...` (containing `phrase`)
    followed by the source line and a caret under the column. Returns the message."""
    assert run.rc == 2, (run.rc, run.out, run.err)
    assert "Traceback" not in run.err and "Traceback" not in run.out
    assert run.out == ""
    lines = run.err.splitlines()
    heads = [i for i, text in enumerate(lines) if DIAG_HEAD.match(text)]
    assert heads, run.err
    for i in heads:
        m = DIAG_HEAD.match(lines[i])
        assert m is not None
        if (m["file"], int(m["line"]), int(m["col"])) == (file, line, col) and phrase in m["msg"]:
            if source is not None:
                assert lines[i + 1] == "    " + source, run.err
                caret = lines[i + 2]
                assert caret.startswith("    " + " " * (col - 1) + "^"), run.err
                assert set(caret.strip()) <= {"^", "~"}, run.err
            return m["msg"]
    raise AssertionError(f"no diagnostic {file}:{line}:{col} containing {phrase!r} in:\n{run.err}")
