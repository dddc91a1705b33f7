"""The reference interpreter (interpret.py) against the z3 engine on every shipped model,
counterexample replay, and `objcg-prove simulate`."""

from __future__ import annotations

import functools
import io
from pathlib import Path

import pytest

from objcg_proof.cli import dispatch as cli
from objcg_proof.cli import gate
from objcg_proof.lang.diagnostics import SourceCache
from objcg_proof.lang.ir import Program
from objcg_proof.lang.parser import load_model
from objcg_proof.lang.resolve import resolve
from objcg_proof.oracles import interpret
from objcg_proof.oracles.interpret import Exploration, explore, replay
from objcg_proof.runner import batch

import array_models
import atomic_models
import final_models
import spin_models
from model_results import proved

ROOT = Path(__file__).resolve().parents[2]
# each objcg design on the narrow setting of its scenario (tests/narrow/): on the full one the
# interpreter's state limit ends the exploration (tests/oracles/test_spin.py, NOTE(narrow-designs))
MODELS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "models" / "examples").glob("*.dsl")) + \
    sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests" / "narrow").glob("*.dsl"))


@functools.lru_cache(maxsize=None)
def program(path: str) -> Program:
    return resolve(load_model(str(ROOT / path), SourceCache()))


# the narrow v3 and v4 reach about 233,000 states, past the interpreter's default limit
EXPLORED_STATES = 1_000_000


@functools.lru_cache(maxsize=None)
def interpreted(path: str) -> Exploration:
    return explore(program(path), max_states=EXPLORED_STATES)




@pytest.mark.parametrize("path", MODELS)
def test_interpreter_agrees_with_the_prover(path: str) -> None:
    # The interpreter explores every execution, unbounded: where z3 says proved or violated
    # the two must agree, and with every execution covered the shortest traces are equally
    # long. Where z3 says bounded, the interpreter's answer is the unbounded truth.
    z3_result, mine = proved(path), interpreted(path)
    assert mine.complete, path
    covered = all(p.status != "bounded" for p in z3_result.properties)
    assert [n for n, _ in mine.properties] == [p.name for p in z3_result.properties]
    for p in z3_result.properties:
        if p.status == "bounded":
            continue
        assert mine.status(p.name) == p.status, (path, p.name)
        if p.status == "violated" and covered:
            assert p.trace is not None
            assert len(mine.violations[p.name].steps) == len(p.trace.steps), (path, p.name)


def test_peterson_is_proved_unbounded() -> None:
    # z3 can only say bounded (a waiter may always spin once more); the state space is finite
    mine = interpreted("models/examples/peterson.dsl")
    assert mine.complete and mine.status("mutual_exclusion") == "proved"


def schedule(steps) -> list[tuple[str, str, int]]:
    """A trace's steps as replay takes them, each file as `program` loaded it (a shipped model's
    trace names its files relative to the checkout, as the gate's check has them:
    tests/model_results.py)."""
    return [(s.thread, str(ROOT / s.file), s.line) for s in steps]


@pytest.mark.parametrize("path", MODELS)
def test_every_counterexample_replays(path: str) -> None:
    for p in proved(path).properties:
        if p.status == "violated":
            assert p.trace is not None
            ok, why = replay(program(path), schedule(p.trace.steps), p.name, p.kind)
            assert ok, (path, p.name, why)


def test_a_wrong_schedule_does_not_replay() -> None:
    path = "models/examples/counter.dsl"
    p = next(x for x in proved(path).properties if x.name == "plain_is_2")
    assert p.trace is not None
    steps = schedule(p.trace.steps)
    # run the two increments one after the other: no increment is lost
    serial = sorted(steps[:-1], key=lambda s: s[0]) + steps[-1:]
    ok, why = replay(program(path), serial, "plain_is_2", "assert")
    assert not ok and why


@pytest.mark.parametrize("text, statuses", [(text, want) for _, text, want in atomic_models.CASES + array_models.CASES],
                         ids=[case for case, _, _ in atomic_models.CASES + array_models.CASES])
def test_interpreter_runs_the_atomic_t_operations(tmp_path: Path, text: str, statuses: dict[str, str]) -> None:
    # the verdicts derived by hand in tests/atomic_models.py and tests/array_models.py, from
    # every reachable state
    assert explored(tmp_path, text) == {"uaf": "proved", "deadlock": "proved", **statuses}   # no refcounted object: no leak


def explored(tmp_path: Path, text: str) -> dict[str, str]:
    """The interpreter's status of every property of the model `text`, every state explored."""
    path = tmp_path / "m.dsl"
    path.write_text(text, encoding="utf-8")
    mine = explore(resolve(load_model(str(path), SourceCache())))
    assert mine.complete
    return {name: mine.status(name) for name, _ in mine.properties}


@pytest.mark.parametrize("text, statuses", [(text, want) for _, text, want in spin_models.CASES],
                         ids=[case for case, _, _ in spin_models.CASES])
def test_interpreter_runs_spin_loops(tmp_path: Path, text: str, statuses: dict[str, str]) -> None:
    # the verdicts derived by hand in tests/spin_models.py (docs/semantics.md, "Spin loops")
    assert explored(tmp_path, text) == statuses


def test_a_spin_loop_iteration_that_goes_round_stops_the_thread(tmp_path: Path) -> None:
    # docs/semantics.md, "Spin loops": A reads go == 0, its iteration goes round again, and A
    # stops there for good (it never reads go again, even after B sets it); A going first
    # after B, it leaves the loop
    from objcg_proof.oracles.interpret import simulate

    path = tmp_path / "m.dsl"
    path.write_text("shared word go = 0;\nthread A { while (!go) ; go = 2; }\nthread B { go = 1; }\n", encoding="utf-8")
    program = resolve(load_model(str(path), SourceCache()))
    run = list(simulate(program, 0, ["A", "B", "A"], 10))
    assert [why for rec, _, why in run if rec is None] == ["thread A cannot move now"]
    run = list(simulate(program, 0, ["B", "A", "A"], 10))
    assert [rec.changes for rec, _, _ in run if rec is not None][-1] == ("go: 1 -> 2",)


@pytest.mark.parametrize("text, want", [(text, want) for _, text, want in final_models.CASES],
                         ids=[case for case, _, _ in final_models.CASES])
def test_interpreter_runs_the_final_checks(tmp_path: Path, text: str, want: dict[str, str]) -> None:
    # the end-of-run checks, derived by hand in tests/final_models.py, from every reachable state
    path = tmp_path / "m.dsl"
    path.write_text(text, encoding="utf-8")
    mine = explore(resolve(load_model(str(path), SourceCache())))
    assert mine.complete
    got = {name: mine.status(name) for name, _ in mine.properties}
    assert set(want) <= set(got)
    assert got == {name: final_models.interpreter_status(want.get(name, "proved")) for name in got}


def test_replay_of_a_final_check_needs_every_thread_finished(tmp_path: Path) -> None:
    path = tmp_path / "m.dsl"
    path.write_text(final_models.RACE, encoding="utf-8")
    prog = resolve(load_model(str(path), SourceCache()))
    lines = {line.split("{")[0].strip(): n for n, line in enumerate(final_models.RACE.splitlines(), 1)
             if line.startswith("thread")}
    a, b = ("A", str(path), lines["thread A"]), ("B", str(path), lines["thread B"])
    assert replay(prog, [a, b, a, b], "sum", "assert") == (True, "")
    ok, why = replay(prog, [a, b, a], "sum", "assert")   # B has not finished: nothing is checked
    assert not ok and "not violated" in why
    ok, why = replay(prog, [a, a, b, b], "sum", "assert")   # one after the other: 2 at the end
    assert not ok


NO_OBJECT = """refcounted struct obj { word x; };
shared word n = 0;
thread A { atomic_inc(&n); }
thread B { word c = n; assert(c < 2, "small"); }
"""


def test_interpreter_lists_leak_only_with_a_refcounted_object(tmp_path: Path) -> None:
    # a refcounted struct with no object of it: nothing can leak, so no leak property, as in
    # the prover; one object, and leak comes first again (docs/semantics.md, "Property order")
    path = tmp_path / "m.dsl"
    path.write_text(NO_OBJECT, encoding="utf-8")
    mine = explore(resolve(load_model(str(path), SourceCache())))
    assert mine.properties == [("uaf", "uaf"), ("deadlock", "deadlock"), ("small", "assert")]
    assert mine.complete and not mine.violations
    path.write_text(NO_OBJECT.replace("shared word n = 0;", "object struct obj o;\nshared word n = 0;"), encoding="utf-8")
    mine = explore(resolve(load_model(str(path), SourceCache())))
    assert mine.properties == [("leak", "leak"), ("uaf", "uaf"), ("deadlock", "deadlock"), ("small", "assert")]
    assert mine.complete and set(mine.violations) == {"leak"}   # o keeps its initial reference


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    rc = cli.main(list(argv), out, err)
    return rc, out.getvalue(), err.getvalue()


def test_simulate_prints_a_schedule(tmp_path: Path) -> None:
    model = tmp_path / "m.dsl"
    model.write_text("shared word x = 0;\nthread A { x = 1; }\nthread B { word v = x; assert(v == 0, \"early\"); }\n")
    rc, out, _ = run_cli("simulate", str(model), "--schedule", "A,B")
    assert rc == 1
    assert "x: 0 -> 1" in out and "early" in out
    rc, out, _ = run_cli("simulate", str(model), "--schedule", "B,A")
    assert rc == 0 and "v = 0" in out


def test_simulate_bad_input_exits_2(tmp_path: Path) -> None:
    rc, _, err = run_cli("simulate", str(tmp_path / "missing.dsl"))
    assert rc == 2 and "no such file" in err


# ---- one property's internal error hides no other verdict -------------------------------------
# A counterexample that does not replay (NOTE(replay) in cli.py), or a worker that fails on a
# property, is an internal error for that property only: exit 4, one line naming the model and
# the property, and every other property's verdict is still printed (text and JSON).
TWO_ASSERTS = """
shared word x = 0;
thread A { x = 1; }
thread B { word v = x; assert(v == 0, "a"); assert(v == 0, "b"); }
"""


def verdict_lines(out: str) -> dict[str, str]:
    return {line.split()[0]: line.split()[2] for line in out.splitlines() if line.startswith("  ") and
            len(line.split()) > 2 and line.split()[2] in ("proved", "VIOLATED", "BOUNDED", "VACUOUS", "UNKNOWN")}


def test_a_counterexample_that_does_not_replay_is_that_property_internal_error(models, monkeypatch):
    real = interpret.replay

    def refuse_a(program, schedule, name, kind, hints=()):  # type: ignore[no-untyped-def]
        return (False, "refused by the test") if name == "a" else real(program, schedule, name, kind, hints)

    monkeypatch.setattr(interpret, "replay", refuse_a)
    run = models.run(TWO_ASSERTS)
    assert run.rc == 4
    assert run.err == "objcg-prove: internal error: the counterexample for a in m.dsl does not replay: refused by the test\n"
    assert verdict_lines(run.out) == {"uaf": "proved", "deadlock": "proved", "b": "VIOLATED"}
    assert "counterexample: b (assert)" in run.out and "counterexample: a" not in run.out
    run = models.run(TWO_ASSERTS, "--json")
    assert run.rc == 4
    report = run.json()
    assert [(r["property"], r["status"]) for r in report["results"]] == [
        ("uaf", "proved"), ("deadlock", "proved"), ("b", "violated")]
    assert [e["message"] for e in report["errors"]] == [
        "internal error: the counterexample for a in m.dsl does not replay: refused by the test"]


def fail_on_a(ob: batch.Obligation) -> batch.Answer:
    """Runs in a worker: fails on property `a`."""
    if ob.name == "a":
        raise RuntimeError("the encoder fell over")
    return batch.check_obligation(ob)


def test_a_failed_worker_hides_no_other_verdict(models, monkeypatch):
    monkeypatch.setattr(cli, "verify_models", lambda paths, options, jobs, progress, scheduler=None, log=False:
                        batch.run_obligations(paths, options, jobs, progress, fail_on_a))
    run = models.run(TWO_ASSERTS, "--jobs", "2")
    assert run.rc == 4
    assert run.err.startswith("objcg-prove: internal error: checking a of m.dsl failed in a worker process: "
                              "RuntimeError: the encoder fell over")
    assert verdict_lines(run.out) == {"uaf": "proved", "deadlock": "proved", "b": "VIOLATED"}


def test_a_failed_worker_fails_the_gate(models, monkeypatch):
    # `objcg-prove check --jobs N` used to pass a model one of whose properties a worker failed on
    path = models.write(TWO_ASSERTS, "models/m.dsl")
    assert models.cli("prove", "--record", path).rc == 1   # recorded: a and b violated
    monkeypatch.setattr(gate, "verify_models", lambda paths, options, jobs=1, progress=None, scheduler=None, log=False:
                        batch.run_obligations(paths, options, 2, progress, fail_on_a))
    run = models.cli("check", "--no-cache", path)
    assert run.rc == 4, (run.out, run.err)
    assert "gate: 0 passed, 1 failed" in run.out
    assert "objcg-prove: internal error: checking a of models/m.dsl failed in a worker process" in run.err
