"""--jobs N: obligations checked in worker processes give the report a serial run gives, in the
same order; bad input and bad --jobs values; a worker that fails; the progress line."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest

from cli_helpers import BOUNDED as SPIN, PROVED as ATOMIC, VIOLATED as COUNTER
from objcg_proof.cli import dispatch as cli
from objcg_proof.prove.verify import VerifyOptions
from objcg_proof.runner import batch
from objcg_proof.runner import progress
from objcg_proof.runner.batch import Obligation, run_obligations, verify_models

ROOT = Path(__file__).resolve().parents[2]

REFS = """
refcounted struct obj { word x; };
object struct obj o;
shared word n = 0;
thread T { get(&o); word v = n; lost_update(v == 1, "upd"); }
thread U { put(&o); }
"""

SMALL = {"counter.dsl": COUNTER, "atomic.dsl": ATOMIC, "spin.dsl": SPIN, "refs.dsl": REFS}

TIME = re.compile(r"\d+\.\d+s\)")


def verdicts_text(out: str) -> list[str]:
    """The text report without times and without the rows of the traces (which of several
    shortest traces the solver finds may differ: NOTE(obligations) in batch.py); the verdict
    lines and each counterexample's head (with its length) stay."""
    kept, in_trace = [], False
    for line in out.splitlines():
        if line.startswith("counterexample: "):
            in_trace = True
            kept.append(line)
        elif in_trace and not line.strip():
            in_trace = False
        elif not in_trace:
            kept.append(TIME.sub("s)", line))
    return kept


def verdicts_json(doc: dict) -> dict:
    """The --json report without times; each trace by its length."""
    rows = [{**{k: v for k, v in r.items() if k not in ("time_s", "trace", "violation")}, "steps": len(r["trace"])}
            for r in doc["results"]]
    models = [{k: v for k, v in m.items() if k != "time_s"} for m in doc["models"]]
    return {"results": rows, "models": models, "errors": doc["errors"]}


def write_small(models) -> list[str]:
    return [models.write(text, name) for name, text in SMALL.items()]


# ---- the same report --------------------------------------------------------------------------


def test_jobs_2_gives_the_report_of_jobs_1_on_small_models(models):
    names = write_small(models)
    one, two = models.cli(*names, "--jobs", "1"), models.cli(*names, "--jobs", "2")
    assert one.rc == two.rc == 1, (one.err, two.err)
    assert two.err == one.err == ""
    assert verdicts_text(two.out) == verdicts_text(one.out)
    # what the comparison keeps: every verdict, each counterexample's length
    assert "  count     assert       VIOLATED  counterexample of 8 steps  (s)" in verdicts_text(one.out)
    assert "counterexample: upd (lost_update) in refs.dsl, 2 steps" in verdicts_text(one.out)
    jone, jtwo = models.cli(*names, "--json"), models.cli(*names, "--json", "-j", "2")
    assert verdicts_json(jtwo.json()) == verdicts_json(jone.json())
    statuses = {(r["model"], r["property"]): r["status"] for r in jone.json()["results"]}
    assert statuses[("spin.dsl", "seen")] == "bounded" and statuses[("atomic.dsl", "count")] == "proved"


def test_jobs_2_gives_the_report_of_jobs_1_on_a_shipped_design(models):
    v2 = str(ROOT / "tests" / "narrow" / "objcg_v2.dsl")   # the design on a scenario that takes seconds
    one, two = models.cli(v2, "--json"), models.cli(v2, "--json", "--jobs", "2")
    assert one.rc == two.rc == 1, (one.err, two.err)
    assert verdicts_json(two.json()) == verdicts_json(one.json())
    violated = {r["property"]: len(r["trace"]) for r in two.json()["results"] if r["status"] == "violated"}
    assert set(violated) == {"lost_update", "kthread_charged"} and all(violated.values())


def test_the_order_is_the_order_given_whoever_finishes_first(models):
    # the shipped design takes longest, so the small models after it finish first
    names = [str(ROOT / "tests" / "narrow" / "objcg_prepatch.dsl"), *reversed(write_small(models))]
    run = models.cli(*names, "--json", "--jobs", "3")
    doc = run.json()
    assert [m["model"] for m in doc["models"]] == names
    serial = models.cli(*names, "--json")
    assert [(r["model"], r["property"]) for r in doc["results"]] == \
        [(r["model"], r["property"]) for r in serial.json()["results"]]


def test_more_jobs_than_obligations_and_a_filter_that_leaves_a_model_empty(models):
    models.write(COUNTER, "counter.dsl")
    models.write(REFS, "refs.dsl")
    one = models.cli("counter.dsl", "refs.dsl", "-p", "count", "--json")
    many = models.cli("counter.dsl", "refs.dsl", "-p", "count", "--json", "--jobs", "16")
    assert one.rc == many.rc == 1
    assert verdicts_json(many.json()) == verdicts_json(one.json())
    assert [r["property"] for r in many.json()["results"]] == ["count"]
    assert [m["stats"]["constraints"] > 0 for m in many.json()["models"]] == [True, True]


def test_bad_input_with_jobs_2_is_reported_as_in_a_serial_run(models):
    models.write(ATOMIC, "good.dsl")
    models.write("thread T { word v = nope; }\n", "bad.dsl")
    args = ("good.dsl", "bad.dsl", "missing.dsl", "good.dsl")
    one, two = models.cli(*args, "--jobs", "1"), models.cli(*args, "--jobs", "2")
    assert one.rc == two.rc == 2
    assert "Traceback" not in two.err
    assert two.err == one.err
    assert two.err.startswith("bad.dsl:1:21: error: unknown name 'nope'")
    assert verdicts_text(two.out) == verdicts_text(one.out)
    assert two.out.count("good.dsl  (bound 2") == 2
    jone, jtwo = models.cli(*args, "--json"), models.cli(*args, "--json", "-j", "2")
    assert jtwo.json()["errors"] == jone.json()["errors"] and len(jone.json()["errors"]) == 2


@pytest.mark.parametrize("value, phrase", [("0", "--jobs 0: expected at least 1 worker process"),
                                           ("-1", "--jobs -1: expected at least 1 worker process"),
                                           ("x", "--jobs x: expected a positive integer"),
                                           ("2.5", "--jobs 2.5: expected a positive integer")])
def test_bad_jobs_values_are_usage_errors(models, value, phrase):
    models.write(ATOMIC)
    run = models.cli("m.dsl", "--jobs", value)
    assert run.rc == 2 and run.out == ""
    assert run.err.startswith(f"objcg-prove: error: {phrase}"), run.err
    assert "Traceback" not in run.err


def test_verify_models_refuses_no_jobs(models):
    with pytest.raises(ValueError, match="jobs must be at least 1"):
        verify_models([models.write(ATOMIC)], VerifyOptions(), jobs=0)


# ---- a worker that fails ---------------------------------------------------------------------


def failing_check(ob: Obligation) -> batch.Answer:
    """Runs in a worker: fails on the obligations named in the model file's name."""
    if ob.name == "count" and "raise" in ob.path:
        raise RuntimeError("the encoder fell over")
    if ob.name == "count" and "die" in ob.path:
        os._exit(7)
    return batch.check_obligation(ob)


def test_a_worker_error_names_the_model_and_property_and_is_no_verdict(models):
    for name in ("raise.dsl", "die.dsl", "fine.dsl"):
        models.write(ATOMIC, name)
    outcomes = run_obligations(["raise.dsl", "die.dsl", "fine.dsl"], VerifyOptions(), 2, None, failing_check)
    raised, died, fine = outcomes
    assert raised.result is None and not raised.bad_input
    assert raised.worker_errors[0].startswith(
        "checking count of raise.dsl failed in a worker process: RuntimeError: the encoder fell over")
    assert "Traceback" in raised.worker_errors[0]   # a tool bug keeps its traceback
    assert died.result is None and died.worker_errors == [
        "checking count of die.dsl: a worker process died (killed, or out of memory)"]
    # the other models, and the other properties, are still checked
    assert fine.result is not None and not fine.worker_errors
    assert [p.status for p in fine.result.properties] == ["proved"] * 3   # uaf, deadlock, count


def test_the_command_reports_a_failed_worker_as_an_internal_error(models, monkeypatch):
    models.write(ATOMIC, "raise.dsl")
    models.write(ATOMIC, "fine.dsl")
    monkeypatch.setattr(cli, "verify_models", lambda paths, options, jobs, progress, scheduler=None, log=False:
                        run_obligations(paths, options, jobs, progress, failing_check))
    run = models.cli("raise.dsl", "fine.dsl", "--jobs", "2")
    assert run.rc == 4
    assert run.err.startswith("objcg-prove: internal error: checking count of raise.dsl failed in a worker process")
    # raise.dsl's other properties keep their verdicts; `count` has none (its internal error)
    assert "raise.dsl  (bound" in run.out and "fine.dsl  (bound 2" in run.out
    assert run.out.count("  count ") == 1


# ---- the progress line -----------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_progress_line_on_a_terminal_only(models, monkeypatch, jobs):
    monkeypatch.setattr(progress, "PROGRESS_AFTER_S", 0.0)
    models.write(COUNTER)
    out, err = io.StringIO(), Terminal()
    assert cli.main(["m.dsl", "--jobs", jobs], out, err) == 1
    text = err.getvalue()
    assert re.search(r"\r\[\d/3\] m\.dsl (uaf|deadlock|count) \.\.\.", text), text
    assert text.endswith("\r") and text.rstrip(" \r").endswith("...")   # the line is cleared at the end
    assert "\n" not in text
    assert out.getvalue().startswith("m.dsl  (bound 2")
    quiet = io.StringIO()   # not a terminal: nothing
    assert cli.main(["m.dsl", "--jobs", jobs], io.StringIO(), quiet) == 1
    assert quiet.getvalue() == ""


def test_no_progress_line_on_a_terminal_before_the_threshold(models):
    models.write(COUNTER)
    err = Terminal()
    assert cli.main(["m.dsl"], io.StringIO(), err) == 1   # a short run: nothing shown
    assert err.getvalue() == ""


def test_the_progress_line_is_rewritten_in_place_and_cleared():
    now = [0.0]
    err = Terminal()
    shown = progress.Progress(err, 30, clock=lambda: now[0])
    shown.show(0, "a.dsl leak")
    assert err.getvalue() == ""   # before PROGRESS_AFTER_S
    now[0] = progress.PROGRESS_AFTER_S
    shown.show(6, "models/objcg_v4.dsl uaf")
    shown.show(6, "models/objcg_v4.dsl uaf")   # unchanged: not written again
    shown.show(7, "b.dsl x")
    first, second = "[6/30] models/objcg_v4.dsl uaf ...", "[7/30] b.dsl x ..."
    # the shorter line overwrites the longer one with blanks
    assert err.getvalue() == "\r" + first + "\r" + second + " " * (len(first) - len(second))
    shown.close()
    assert err.getvalue().endswith(second + " " * (len(first) - len(second)) + "\r" + " " * len(second) + "\r")


def test_a_long_progress_line_is_cut_to_the_terminal_width(monkeypatch):
    # a line that wraps could not be rewritten in place
    monkeypatch.setattr(progress, "PROGRESS_AFTER_S", 0.0)
    monkeypatch.setattr(progress.shutil, "get_terminal_size", lambda: os.terminal_size((24, 10)))
    err = Terminal()
    progress.Progress(err, 31).show(7, "models/objcg_v4.dsl kthread_charged")
    assert err.getvalue() == "\r[7/31] models/objcg_...", repr(err.getvalue())
