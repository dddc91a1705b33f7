"""`objcg-prove simulate` (cli/simulate.py, `Simulation` in oracles/interpret.py): one schedule
run on the reference interpreter, every property of the model judged on that run (violated at
a step, held on this schedule, or not judged and why), the step columns as wide as their rows.

Each model below is small enough that the verdicts of a schedule follow by hand from
docs/semantics.md ("Properties", "End-of-run checks"); each test says why."""

from __future__ import annotations

import re

from conftest import CliRun

# Taker takes a reference it never drops; Owner drops the initial one. Taker first: the count
# ends at 1 (a leak). Owner first: the count reaches 0, Taker's tryget fails, nothing leaks.
LEAK = """
refcounted struct obj { word x; };
object struct obj o;
thread Taker { if (tryget(&o)) { word kept = 1; } }
thread Owner { put(&o); }
"""

# Owner's put drops the count to 0 before Getter's get: a get() on a released object
UAF = """
refcounted struct obj { word x; };
object struct obj o;
thread Getter { get(&o); put(&o); }
thread Owner { put(&o); }
"""

# A then B: B reads 1, the assertion fails at B's step, the second step
EARLY = """
shared word x = 0;
thread A { x = 1; }
thread B { word v = x; assert(v == 0, "early"); }
"""

# two plain increments; the final block checks the sum once both threads finished
RACE = """
shared word counter = 0;
thread A { word t = counter; counter = t + 1; }
thread B { word t = counter; counter = t + 1; }
final { assert(counter == 2, "sum"); }
"""

# the textbook ABBA deadlock: after A takes a and B takes b, each waits for the other's lock
ABBA = """
shared word a = 0;
shared word b = 0;
thread A { spin_lock(&a); spin_lock(&b); spin_unlock(&b); spin_unlock(&a); }
thread B { spin_lock(&b); spin_lock(&a); spin_unlock(&a); spin_unlock(&b); }
"""


def simulate(models, text: str, *argv: str) -> CliRun:  # type: ignore[no-untyped-def]
    models.write(text)
    return models.cli("simulate", "m.dsl", *argv)


def verdicts(run: CliRun) -> dict[str, str]:
    """Property name -> the words after its kind, from the summary of a simulate run."""
    lines = run.out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("properties on this schedule ("))
    out = {}
    for line in lines[start + 1:-1]:
        name, _kind, words = re.match(r"  (\S+) +(\S+) +(.*)$", line).groups()  # type: ignore[union-attr]
        out[name] = words
    return out


def test_a_schedule_that_leaks_reports_leak_violated_at_the_end(models):
    # before: a --schedule run never judged leak at its end (only a random run that found no
    # thread able to move did), so this printed nothing about the leak and exited 0
    run = simulate(models, LEAK, "--schedule", "Taker,Owner")
    assert run.rc == 1, run.out
    got = verdicts(run)
    assert got["leak"] == "violated at the end of the run, after step 2: leak: o ends with count 1"
    assert got["uaf"] == got["deadlock"] == "held on this schedule"
    assert run.out.splitlines()[-1] == "simulate: 3 properties: 1 violated, 2 held on this schedule"
    assert "\n   => leak: o ends with count 1\n" in run.out   # under the last step, indented to its thread


def test_a_schedule_that_violates_nothing_holds_every_property_on_this_schedule(models):
    run = simulate(models, LEAK, "--schedule", "Owner,Taker")
    assert run.rc == 0, run.out
    assert verdicts(run) == {"leak": "held on this schedule", "uaf": "held on this schedule",
                             "deadlock": "held on this schedule"}
    assert run.out.splitlines()[-1] == "simulate: 3 properties: 3 held on this schedule"
    assert " proved" not in run.out and "holds" not in run.out   # one schedule proves nothing


def test_a_run_stopped_by_steps_does_not_judge_end_of_run_properties(models):
    # the same leaking schedule, stopped after its first step: Owner has not finished, so the
    # leak cannot be judged, nor can deadlock (Owner could still move); uaf held on that step
    run = simulate(models, LEAK, "--schedule", "Taker,Owner", "--steps", "1")
    assert run.rc == 0, run.out
    got = verdicts(run)
    assert got["leak"] == ("not judged: the run stopped at the step limit of 1 with Owner able to move; leak is "
                           "judged only when every thread has finished")
    assert got["deadlock"] == ("not judged: the run stopped at the step limit of 1 while Owner could still move; a "
                               "deadlock is judged only where no thread can move")
    assert got["uaf"] == "held on this schedule (on its 1 step; not every thread finished)"
    assert run.out.splitlines()[-1] == "simulate: 3 properties: 1 held on this schedule, 2 not judged"
    # a random run stopped the same way: --steps 0 runs no step at all
    run = simulate(models, LEAK, "--seed", "5", "--steps", "0")
    assert run.rc == 0 and verdicts(run)["leak"].startswith("not judged: the run stopped at the step limit of 0 ")


def test_a_final_block_check_is_judged_only_once_every_thread_finished(models):
    run = simulate(models, RACE, "--schedule", "A,B,A,B")   # both read 0: the sum is 1
    assert run.rc == 1
    assert verdicts(run)["sum"].startswith("violated at the end of the run, after step 4: assertion sum failed")
    run = simulate(models, RACE, "--schedule", "A,B,A")      # B has not written yet
    assert run.rc == 0
    assert verdicts(run)["sum"] == ("not judged: the given schedule ended after 3 steps with B able to move; a "
                                    "final-block check is judged only when every thread has finished")
    run = simulate(models, RACE, "--schedule", "A,A,B,B")   # one after the other: 2
    assert run.rc == 0 and verdicts(run)["sum"] == "held on this schedule"


def test_a_uaf_is_reported_with_its_step(models):
    run = simulate(models, UAF, "--schedule", "Owner,Getter,Getter")
    assert run.rc == 1
    got = verdicts(run)
    assert got["uaf"].startswith("violated at step 2: get() on a released object")
    # the leak is judged too: Getter's get() on 0 brought the count back to 1 and its put to 0
    assert got["leak"] == "held on this schedule"


def test_an_assertion_is_reported_with_its_step(models):
    run = simulate(models, EARLY, "--schedule", "A,B")
    assert run.rc == 1
    assert verdicts(run)["early"] == "violated at step 2: assertion early failed at m.dsl:3"
    run = simulate(models, EARLY, "--schedule", "B,A")
    assert run.rc == 0 and verdicts(run)["early"] == "held on this schedule"


def test_a_deadlock_is_judged_on_the_last_state(models):
    # the given schedule asks A to move a third time, which it cannot: no thread can move
    run = simulate(models, ABBA, "--schedule", "A,B,A")
    assert run.rc == 1
    assert verdicts(run)["deadlock"] == "violated at the end of the run, after step 2: deadlock: A, B wait forever"
    run = simulate(models, ABBA, "--schedule", "A,A,A,A,B,B,B,B")
    assert run.rc == 0 and verdicts(run)["deadlock"] == "held on this schedule"


# A waits in a spin loop for B's write (docs/semantics.md, "Spin loops")
SPIN = """
shared word go = 0;
thread A { while (!go) ; go = 2; }
thread B { word v = go; }
"""


def test_a_spin_loop_that_waits_forever_is_a_deadlock_and_one_cut_short_is_not_judged(models):
    # B alone, then A rests at its loop, where an iteration on go == 0 goes round for ever
    run = simulate(models, SPIN, "--schedule", "B")
    assert run.rc == 1
    assert verdicts(run)["deadlock"] == "violated at the end of the run, after step 1: deadlock: A wait forever"
    # A's iteration reads 0 first and goes round: the interpreter stops A there, so this run
    # says nothing of whether A would wait forever (it would: B never writes)
    run = simulate(models, SPIN, "--schedule", "A,B")
    assert run.rc == 0
    assert verdicts(run)["deadlock"].startswith("not judged: the run ended with A stopped where a spin loop goes "
                                                "round again: the interpreter stops a thread there")


def test_a_schedule_naming_no_thread_is_a_usage_error(models):
    run = simulate(models, EARLY, "--schedule", "A,C")
    assert run.rc == 2 and run.out == ""
    assert run.err == "objcg-prove simulate: error: --schedule names no thread C (the threads of m.dsl: A, B)\n"


def test_step_columns_are_as_wide_as_their_rows(models):
    # a thread name longer than 8 characters and files of different path lengths (an include)
    # used to push later columns out of line: every row's columns now start at one offset
    models.write("shared word x = 0;\nproc void bump(void) {\n    word t = x;\n    x = t + 1;\n}\n",
                 "a/rather/long/directory/lib.dsl")
    text = ('include "a/rather/long/directory/lib.dsl";\n'
            "thread a_rather_long_thread_name { bump(); bump(); bump(); }\n"
            "thread B { bump(); bump(); }\n")
    run = simulate(models, text, "--seed", "1")
    rows = [line for line in run.out.splitlines() if re.match(r" *\d+  ", line)]
    assert len(rows) == 10   # every bump() is two steps
    thread_at = {row.index(name) for row in rows for name in ("a_rather_long_thread_name ", "B ") if name in row}
    where_at = {re.search(r"\S+\.dsl:\d+", row).start() for row in rows}  # type: ignore[union-attr]
    statement_at = {row.index("word t = x;") if "word t" in row else row.index("x = t + 1;") for row in rows}
    assert len(thread_at) == len(where_at) == len(statement_at) == 1, run.out
    assert rows[0].startswith(" 1  ") and rows[9].startswith("10  ")   # numbers right-aligned
    assert all("a/rather/long/directory/lib.dsl:" in row for row in rows)   # the location is never cut
    assert all(line == line.rstrip() for line in run.out.splitlines())


def test_steps_mixed_from_two_files_stay_aligned(models):
    # a statement of the model file next to one of the included file (paths of other lengths)
    models.write("shared word x = 0;\nproc void bump(void) {\n    word t = x;\n    x = t + 1;\n}\n",
                 "inc/lib.dsl")
    text = 'include "inc/lib.dsl";\nshared word y = 0;\nthread A { bump(); y = 1; }\n'
    run = simulate(models, text, "--schedule", "A,A,A")
    rows = [line for line in run.out.splitlines() if re.match(r" *\d+  ", line)]
    assert [re.search(r"\S+\.dsl:\d+", row).group() for row in rows] == [  # type: ignore[union-attr]
        "inc/lib.dsl:3", "inc/lib.dsl:4", "m.dsl:3"]
    starts = {re.search(r"\.dsl:\d+ +(\S)", row).start(1) for row in rows}  # type: ignore[union-attr]
    assert len(starts) == 1, run.out
