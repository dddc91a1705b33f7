"""What unrolling may produce is bounded (NOTE(unroll-limit) in unroll.py): nested loops and calls
whose unrolled size explodes stop with an error at the outermost loop or call (exit 2, with the
size reached), instead of growing for minutes; the shipped models stay far below the limits."""

from __future__ import annotations

import glob
from pathlib import Path

import pytest

from conftest import assert_diagnostic, column_of, line_of
from objcg_proof import unroll
from objcg_proof.diagnostics import SourceCache
from objcg_proof.parser import load_model
from objcg_proof.resolve import resolve

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted(glob.glob(str(ROOT / "models" / "*.dsl"))) + sorted(glob.glob(str(ROOT / "models" / "examples" / "*.dsl")))

TOO_LARGE = "too large to unroll at bound 2: thread A has reached 50,001 statements and loop iterations in this loop"


def nested(depth: int, inner: str, cond: str) -> str:
    body = inner
    for _ in range(depth):
        body = f"while ({cond}) {{ {body} }}"
    return "shared word x = 0;\nthread A { " + body + " }\n"


@pytest.mark.parametrize("text", [nested(2, "x = 1;", "1"),       # 1.5 GB in 60 s before
                                  nested(20, "x = 1;", "x"),      # 1.2 GB before
                                  nested(2, "y = y + 1;", "1").replace("{ while", "{ word y = 0; while", 1)],
                         ids=["while-1-in-while-1", "20-nested-while-x", "local-only"])
def test_exploding_loops_stop_with_an_error_at_the_outermost_loop(models, text):
    models.write(text)
    run = models.cli("m.dsl")
    msg = assert_diagnostic(run, "m.dsl", 2, column_of(text, "while"), TOO_LARGE)
    assert "lower the bound" in msg
    assert "note: the innermost loop being unrolled is at m.dsl:2:" in run.err


def test_an_exploding_chain_of_calls_names_the_outermost_call(models):
    procs = ["shared word x = 0;", "proc void p0() { x = 1; }"]
    procs += [f"proc void p{i}() {{ p{i - 1}(); p{i - 1}(); }}" for i in range(1, 21)]
    text = "\n".join(procs + ["thread A { p20(); }"]) + "\n"
    models.write(text)
    run = models.cli("m.dsl")
    assert_diagnostic(run, "m.dsl", line_of(text, "thread A"), column_of(text, "p20();"),
                      "too large to unroll at bound 2: thread A has reached 50,001 statements and loop iterations "
                      "in this call")
    assert f"note: the innermost call being unrolled is at m.dsl:{line_of(text, 'proc void p1(')}:" in run.err


def test_the_limits_are_counted_as_documented(models, monkeypatch):
    # two statements, then the loop: its first iteration, its condition, its body, the second ...
    monkeypatch.setattr(unroll, "MAX_UNROLLED", 5)
    text = "shared word x = 0;\nthread A { word a = 0; word b = 0; while (x) { x = 1; } }\n"
    run = models.run(text)
    assert_diagnostic(run, "m.dsl", 2, column_of(text, "while"),
                      "too large to unroll at bound 2: thread A has reached 6 statements and loop iterations in "
                      "this loop (the limit is 5 statements and iterations")
    monkeypatch.setattr(unroll, "MAX_UNROLLED", 50_000)
    monkeypatch.setattr(unroll, "MAX_TERMS", 2)   # true and false; `word a = 0` adds the word 0
    run = models.run(text)
    assert_diagnostic(run, "m.dsl", 2, column_of(text, "b = 0"), "too large to unroll at bound 2: thread A has "
                      "reached 3 terms at this statement")


def test_a_model_at_the_limit_is_still_unrolled(models, monkeypatch):
    text = "shared word x = 0;\nthread A { while (x) { x = 1; } }\n"
    models.write(text)
    sizes = unroll.Unroller(resolve(load_model("m.dsl", SourceCache()), {}, None))
    sizes.run()
    monkeypatch.setattr(unroll, "MAX_UNROLLED", sizes.unrolled)
    monkeypatch.setattr(unroll, "MAX_TERMS", sizes.tb.size())
    assert models.cli("m.dsl").rc == 0   # x is never set: the loop never runs, and that is proved


@pytest.mark.parametrize("path", SHIPPED, ids=[Path(p).name for p in SHIPPED])
def test_the_shipped_models_are_far_below_the_limits(path):
    # at bound 6, three times their recorded bound, they still leave a margin of over 50x
    unroller = unroll.Unroller(resolve(load_model(path, SourceCache()), {}, 6))
    unroller.run()
    assert unroller.unrolled * 50 < unroll.MAX_UNROLLED
    assert unroller.tb.size() * 50 < unroll.MAX_TERMS


# ---- the reference interpreter's limits (interpret.py) ---------------------------------------

NONDET_STARTS = "shared word x = 0;\n" + "".join(f"thread T{i} {{ word c = nondet(2); x = c; }}\n" for i in range(22)) + \
    'thread Z { word v = x; assert(v == 0, "zero"); }\n'


def test_simulate_gives_up_on_a_thread_that_never_takes_a_step(models):
    # before: "internal error: RuntimeError: a pure loop does not terminate", exit 4
    text = "shared word x = 0;\nthread A { word i = 0; while (1) { i = i + 1; } }\n"
    models.write(text)
    run = models.cli("simulate", "m.dsl")
    assert_diagnostic(run, "m.dsl", 2, column_of(text, "1) {"), "the reference interpreter gives up: thread A runs "
                      "more than 100,000 units without a step from here")


def test_too_many_starting_states_is_an_error_not_a_hang(models):
    # 2^22 combinations of the threads' first choices: before, simulate and the replay of the
    # prover's counterexample enumerated them all (gigabytes, minutes)
    models.write(NONDET_STARTS)
    run = models.cli("simulate", "m.dsl")
    assert_diagnostic(run, "m.dsl", 19, 19, "the reference interpreter gives up: more than 200,000 starting states "
                      "(the nondet choices of threads T0 to T17 before their first step, combined)")
    run = models.cli("m.dsl", "-p", "zero")
    # the violation stands, its counterexample marked as not confirmed by replay (not a tool bug)
    assert run.rc == 1 and run.err == ""
    assert "counterexample of 2 steps, not replayed" in run.out
    assert ("  not replayed: the reference interpreter gives up: more than 200,000 starting states (the nondet "
            "choices of threads T0 to T17 before their first step, combined) (m.dsl:19:19)\n") in run.out
