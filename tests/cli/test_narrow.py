"""Counterexamples narrowed to the steps their violation depends on (NOTE(narrow-traces) in
cli/narrow.py), and `--full-trace`."""

from __future__ import annotations

import io
import json
from pathlib import Path

from cli_helpers import LEAKY
from objcg_proof.cli.dispatch import main
from objcg_proof.cli.narrow import narrow
from objcg_proof.prove.verdict import Trace, TraceStep, WeakExecution


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = main(list(argv), out, io.StringIO())
    return status, out.getvalue()


def _rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines() if line[:5].strip().isdigit()]


def test_a_leak_shows_the_steps_it_depends_on_and_counts_the_rest(tmp_path: Path) -> None:
    model = tmp_path / "leaky.dsl"
    model.write_text(LEAKY)
    status, out = _run("-p", "leak", str(model))
    assert status == 1
    shown = [(r[1], r[3]) for r in _rows(out)]
    assert shown == [("B", "flag"), ("A", "word"), ("A", "get(&o);"), ("A", "put(&o);")]
    assert "(3 steps not shown (" in out and "1 of C" in out and "2 of B" in out and "--full-trace" in out
    numbers = [int(r[0]) for r in _rows(out)]
    # rows keep their numbers in the 7-step trace (which 3 are hidden depends on the interleaving found)
    assert numbers == sorted(numbers) and set(numbers) <= set(range(1, 8)) and len(numbers) == 4
    status, full = _run("-p", "leak", "--full-trace", str(model))
    assert status == 1 and len(_rows(full)) == 7 and "not shown" not in full
    status, columns = _run("-p", "leak", "--layout", "columns", str(model))
    assert "3 steps not shown" in columns and "other = 3;" not in columns
    # machine outputs keep every step
    status, out = _run("--json", "-p", "leak", str(model))
    assert len(json.loads(out)["results"][0]["trace"]) == 7


def _step(i: int, thread: str, reads: tuple[str, ...] = (), writes: tuple[str, ...] = ()) -> TraceStep:
    return TraceStep(i, thread, "m.dsl", i, "s;", "", (), reads, writes)


def test_a_write_counts_only_when_a_kept_read_returned_it() -> None:
    steps = (_step(1, "A", writes=("x",)),     # overwritten by row 3 before B reads x: not needed
             _step(2, "A", reads=("y",)),
             _step(3, "C", writes=("x",)),      # the write B's read returns
             _step(4, "B", reads=("x",)),
             _step(5, "D", writes=("x",)))      # after B's read: not needed
    shown = narrow(Trace(steps, "assertion failed", thread="B"), is_leak=False)
    assert [s.index for s in shown.rows] == [3, 4]
    assert shown.hidden == (("A", 2), ("D", 1))
    # C's earlier steps come along (its path and locals decided what it wrote), and what they read
    steps = (_step(1, "E", writes=("z",)), _step(2, "C", reads=("z",)), _step(3, "C", writes=("x",)),
             _step(4, "E", writes=("z",)), _step(5, "B", reads=("x",)))
    shown = narrow(Trace(steps, "assertion failed", thread="B"), is_leak=False)
    assert [s.index for s in shown.rows] == [1, 2, 3, 5] and shown.hidden == (("E", 1),)


def test_what_is_never_narrowed() -> None:
    steps = (_step(1, "A", writes=("x",)), _step(2, "B", writes=("y",)), _step(3, "B", reads=("x",)))
    for trace, is_leak in [
        (Trace(steps, "deadlock: ..."), False),                                   # no thread, no focus
        (Trace(steps, "final block check failed"), False),                       # a check of the final block
        (Trace(steps, "leak", focus=()), True),                                   # nothing known to focus on
        (Trace(steps, "x", thread="B", execution=WeakExecution((), (), (), (), ())), False),   # an LKMM trace
    ]:
        assert narrow(trace, is_leak).rows == steps and narrow(trace, is_leak).hidden == ()
    steps = (_step(1, "A", writes=("x",)), _step(2, "C", writes=("y",)), _step(3, "B", reads=("x",)))
    assert [s.index for s in narrow(Trace(steps, "x", thread="B"), False).rows] == [1, 3]   # but this one is
