"""The reference interpreter tries every value of a nondet() one by one (NOTE(choice-limits) in
interpret.py): a nondet() with more values than it can try (a plain nondet() at width 64), or a
statement whose choices combine to too many runs, makes it give up at once (a diagnostic at
the nondet(), exit 2 for `simulate`), where it used to hang or run out of memory. Replay tries
such a nondet() with the values the counterexample suggests (a violation found so is real); when
they do not violate, the prover still reports the violation (exit 1), its trace marked "not
replayed" (NOTE(replay) in cli.py); a counterexample that really does not replay is still an
internal error (exit 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_helpers import check_json_shape, no_traceback, run, write
from conftest import assert_diagnostic, column_of, line_of
from objcg_proof.lang.diagnostics import SourceCache
from objcg_proof.lang.parser import load_model
from objcg_proof.lang.resolve import resolve
from objcg_proof.oracles import interpret
from objcg_proof.oracles.interpret import StateLimit, explore

# the reproducer: the leak counterexample's first step is a 64-bit nondet()
WIDE = """\
width 64;
bound 1;
shared word x = 0, y = 3;
shared word arr[2];
refcounted struct obj { word data; struct obj *next; const struct obj *peer; };
object struct obj o[2];
shared struct obj *ptr = NULL;
thread T0 {
    arr[1] = nondet();
    do {
        for (word i1 = 0; i1 < 1; i1++) { continue; }
    } while (((rcu_dereference(ptr) != NULL) || 0x0));
}
"""
WIDE_INDEX = "width 64;\nshared word arr[2];\nthread T0 {\n    do {} while (READ_ONCE(arr[nondet()]));\n}\n"
# the violating value, 12345, shows nowhere in the counterexample: replay cannot confirm it
ODD = """\
width 64;
shared word x = 0;
thread T0 {
    x = 1;
    word v = nondet();
    assert(v != 12345, "odd");
}
"""
GIVES_UP = "the reference interpreter gives up: this nondet() in thread T0 has 18,446,744,073,709,551,616 values"
NOTE = f"  not replayed: {GIVES_UP}"


@pytest.mark.parametrize("text, prop", [(WIDE, "leak"), (WIDE_INDEX, "uaf")])
def test_a_64_bit_nondet_replays_with_the_values_the_counterexample_suggests(models, text, prop):
    # before: the replay enumerated 2^64 values and `objcg-prove` never ended
    run_ = models.run(text, "--timeout", "2", "-k", "1")
    assert run_.rc == 1 and run_.err == "", run_.err
    assert f"counterexample: {prop} ({prop}) in m.dsl" in run_.out and "not replayed" not in run_.out


def not_replayed_notes(out: str) -> list[str]:
    """Each "  not replayed: ..." note of a text report, its wrapped lines joined back (the report
    wraps it to 100 columns, continuation lines indented by four: NOTE(trace-table))."""
    notes: list[str] = []
    following = False
    for line in out.splitlines():
        if line.startswith("  not replayed: "):
            notes.append(line)
            following = True
        elif following and line.startswith("    ") and not line.startswith("     "):
            notes[-1] += " " + line.strip()
        else:
            following = False
    return notes


def test_a_violation_whose_replay_gives_up_is_reported_as_not_replayed(models):
    run_ = models.run(ODD, "--timeout", "2", "-k", "1")
    assert run_.rc == 1, run_.err
    assert run_.err == ""
    odd = [line for line in run_.out.splitlines() if line.startswith("  odd")]
    assert odd and "VIOLATED" in odd[0] and "counterexample of 1 steps, not replayed" in odd[0]
    notes = not_replayed_notes(run_.out)
    assert notes == [f"{NOTE} (at most 65,536 are tried one by one; a nondet(n) with a small n, or a smaller width, "
                     "stays within it); only the 3 values the counterexample suggests were tried, and with them the "
                     f"schedule of 1 steps runs, but odd is not violated at its end (m.dsl:5:{column_of(ODD, 'nondet()')})"]
    report = models.run(ODD, "--timeout", "2", "-k", "1", "--json")
    assert report.rc == 1 and report.json()["errors"] == []
    check_json_shape(report.json())
    rows = {r["property"]: r for r in report.json()["results"]}
    assert rows["odd"]["status"] == "violated" and rows["odd"]["replayed"] is False
    assert rows["odd"]["not_replayed"].startswith(GIVES_UP)
    assert rows["uaf"]["replayed"] is None and rows["uaf"]["not_replayed"] is None


def test_a_replayed_counterexample_has_no_note(models):
    text = 'width 16;\nshared word x = 0;\nthread T0 { x = nondet(); assert(x != 5, "five"); }\n'
    run_ = models.run(text, "--json")
    assert run_.rc == 1
    five = [r for r in run_.json()["results"] if r["property"] == "five"][0]
    assert five["replayed"] is True and five["not_replayed"] is None
    assert "not replayed" not in models.run(text).out


@pytest.mark.parametrize("text, needle", [(WIDE, "nondet()"), (WIDE_INDEX, "nondet()")])
def test_simulate_gives_up_on_a_64_bit_nondet(models, text, needle):
    models.write(text)
    run_ = models.cli("simulate", "m.dsl")
    assert_diagnostic(run_, "m.dsl", line_of(text, needle), column_of(text, needle), GIVES_UP)


def program_of(models, text: str):  # type: ignore[no-untyped-def]
    return resolve(load_model(models.write(text), SourceCache()))


def test_explore_gives_up_on_a_64_bit_nondet(models):
    with pytest.raises(StateLimit) as exc:
        explore(program_of(models, WIDE_INDEX))
    assert exc.value.diagnostics[0].message.startswith(GIVES_UP)


def test_a_statement_whose_choices_combine_to_too_many_runs_gives_up(models):
    # two 16-bit nondet() in one statement: 2^32 runs; each alone is within the limit
    text = "width 16;\nshared word x = 0;\nthread T0 { x = nondet() + nondet(); }\n"
    with pytest.raises(StateLimit) as exc:
        explore(program_of(models, text))
    d = exc.value.diagnostics[0]
    assert d.message == ("the reference interpreter gives up: the nondet() choices of this statement in thread T0 "
                         f"combine to more than {interpret.MAX_UNIT_RUNS:,} runs")
    assert (d.span.line, d.span.column) == (3, column_of(text, "x = nondet"))


def test_a_16_bit_nondet_is_still_tried_in_full(models):
    # 65,536 values: within the limit, every one is tried (x == 5 is found)
    text = 'width 16;\nshared word x = 0;\nthread T0 { x = nondet(); assert(x != 5, "five"); }\n'
    assert "five" in explore(program_of(models, text)).violations


def test_a_real_replay_failure_is_still_an_internal_error(models, monkeypatch):
    def refuse(program, schedule, name, kind, hints=()):  # type: ignore[no-untyped-def]
        return False, "refused by the test"

    monkeypatch.setattr(interpret, "replay", refuse)
    run_ = models.run(ODD, "--timeout", "2", "-k", "1")
    assert run_.rc == 4
    assert run_.err == "objcg-prove: internal error: the counterexample for odd in m.dsl does not replay: refused by the test\n"
    assert "counterexample: odd" not in run_.out


def test_the_gate_serves_a_cached_violation_whose_replay_gives_up(project: Path) -> None:
    # a cached counterexample is replayed as a fresh one: the interpreter giving up is no sign of
    # a damaged entry (before: the fresh run was an internal error, exit 4)
    m = write(project, ODD)
    rec = run("prove", "--record", "--no-traces", "--timeout", "2", m)
    assert rec.rc == 1, rec.err
    first = run("check", "--cache-dir", "c", m)
    assert first.rc == 0, first.err
    again = run("check", "--cache-dir", "c", m)
    assert again.rc == 0, again.err
    assert "from the cache" in again.out and "ignored the cache entry" not in again.err
    no_traceback(again)


def test_replay_confirms_only_with_a_value_that_violates(models):
    prog = program_of(models, ODD)
    schedule = [("T0", "m.dsl", 4)]
    assert interpret.replay(prog, schedule, "odd", "assert", (0, 12345)) == (True, "")
    with pytest.raises(StateLimit) as exc:
        interpret.replay(prog, schedule, "odd", "assert", (0, 1))
    assert "only the 2 values the counterexample suggests were tried" in exc.value.diagnostics[0].message


def test_a_deadlock_is_never_confirmed_with_a_few_values(models):
    # blocked means every value stops the wait: a value that lets it go on may lie outside the
    # hints, so the wait's nondet() is tried in full, and at width 64 the replay gives up
    text = "width 64;\nshared word x = 0;\nthread A {\n    x = 1;\n    await(x == nondet());\n}\n"
    prog = program_of(models, text)
    with pytest.raises(StateLimit):
        interpret.replay(prog, [("A", "m.dsl", 4)], "deadlock", "deadlock", (0,))


PAIR = """\
width 16;
shared word x = 0, y = 0;
thread T0 {
    x = nondet(N);
    y = nondet(N);
    word a = x;
    word b = y;
    assert(a != 5 || b != 7, "pair");
}
"""


@pytest.mark.parametrize("n, why", [
    # 2^16 moves, each one with the 2^16 dry runs of the next statement: 2^32 runs for step 1
    ("", "thread T0 runs more than 524,288 units for one step here (every combination of the nondet choices of "
         "the step and of the units after it) (m.dsl:5:5)"),
    # 500 x 500 states after step 2
    ("500", "more than 200,000 states follow the counterexample's schedule at its step 2 (the nondet choices so "
             "far, combined) (m.dsl:5:5)")])
def test_replay_gives_up_on_too_many_combined_choices(models, monkeypatch, n, why):
    # before: each ran for hours. (The quick pass with the values the trace shows would confirm
    # these counterexamples at once: test_replay_tries_the_hinted_values_first; here it is off.)
    monkeypatch.setattr(interpret, "QUICK_HINTED_VALUES", interpret.MAX_CHOICE_VALUES)
    run_ = models.run(PAIR.replace("N", n), "--timeout", "5", "-k", "1")
    assert run_.rc == 1 and run_.err == "", run_.err
    assert f"  not replayed: the reference interpreter gives up: {why}" in not_replayed_notes(run_.out)


def test_a_replay_whose_choices_multiply_over_its_steps_gives_up_within_its_budget(tmp_path, monkeypatch):
    # found by fuzzing (seed 11): every step stayed under the per-move limit, but the replay as a
    # whole ran for more than five minutes; it now gives up after MAX_REPLAY_RUNS unit runs
    import io
    from objcg_proof.cli import dispatch as cli
    from objcg_proof.oracles import interpret
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.dsl").write_text("""width 8;
bound 2;
shared word x = 0, y = 3;
shared word arr[2];
refcounted struct obj { word data; };
object struct obj o0 = { .data = 0 }, o1 = { .data = 1 };
proc word f0(word a0, word a1) {
    o1.data = a1;
    y = 1;
    while (((a1 << 1) / a0)) {
        x = 0xFF;
    }
    return (nondet(3) + 2);
}
proc word f1(word a0, word a1) {
    arr[0] = (a1 >= nondet(2));
    word l1 = f0(nondet(), nondet());
    return (255 - nondet(3));
}
thread T0 {
    arr[1] = (255 >> 3);
    do {
        word l2 = f1(0, 16);
    } while ((nondet() * nondet(3)));
}
""")
    monkeypatch.setattr(interpret, "MAX_REPLAY_RUNS", 1 << 16)
    out, err = io.StringIO(), io.StringIO()
    rc = cli.main(["--timeout", "10", "-k", "1", "-p", "uaf", "m.dsl"], out, err)
    assert rc == 1, err.getvalue()
    assert "not replayed" in out.getvalue()
    assert "internal error" not in err.getvalue()
    assert f"more than {1 << 16:,} times" in " ".join(out.getvalue().split())   # the note is wrapped


def test_replay_tries_the_hinted_values_first(models, monkeypatch):
    # found by fuzzing: a width-16 counterexample with two wide nondet()s took minutes to replay,
    # every value of each being tried; the quick pass with the values the trace shows confirms it
    prog = program_of(models, PAIR.replace("N", ""))
    schedule = [("T0", "m.dsl", 4), ("T0", "m.dsl", 5), ("T0", "m.dsl", 6), ("T0", "m.dsl", 7)]
    monkeypatch.setattr(interpret, "MAX_REPLAY_RUNS", 1 << 12)   # far below 2^16 runs of one nondet()
    assert interpret.replay(prog, schedule, "pair", "assert", (0, 1, 5, 7, 65535)) == (True, "")
    # without the values that violate it, trying them all is more than the budget: no answer
    with pytest.raises(StateLimit):
        interpret.replay(prog, schedule, "pair", "assert", (0, 1, 65535))
