"""`objcg-prove compare`: the design table, the parameter sweep, the formats, the executions
that tell designs apart, the cost of a common path, and bad input.

The six objcg designs are verified once for the whole module (about 15 s); every other test
uses small designs written here: two counters sharing one harness.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from objcg_proof.prove.solver import SolverOptions
from objcg_proof.prove.verify import VerifyOptions
from objcg_proof.study import compare as compare_mod
from objcg_proof.study.compare import collect, disagreements_text, property_columns, render
from objcg_proof.study.cost import common_path_costs

ROOT = Path(__file__).resolve().parents[2]
DESIGNS = ["prepatch", "v1", "v2", "v3", "v4", "v5"]

# The known verdicts at the default bound (README, "A five-minute tour"; each model's header
# says why). Every other cell of these three columns is proved.
VIOLATED = {
    "v1": {"lost_update", "kthread_charged"},
    "v2": {"lost_update", "kthread_charged"},
    "v3": {"leak", "kthread_charged"},
    "v4": {"kthread_charged"},
}

# The allocation path with task->objcg cached and its update bit clear, counted by hand from the
# C (../shared/seed/v5-*.patch.txt, the `-` lines for pre-patch) as (RMW, loads, stores).
# pre-patch: current->active_memcg and ->flags are the task's own const fields (not shared
#   accesses); current->mm is a load (exit_mm() clears it while the task may still allocate);
#   mem_cgroup_from_task() is one rcu_dereference (the model's task->cgroup);
#   rcu_dereference(memcg->objcg) a load; obj_cgroup_tryget() the one RMW.
# v5: READ_ONCE(current->objcg) the one load; the update bit is clear, so no
#   current_objcg_update(); obj_cgroup_get() the one RMW.
HAND_COUNTED = {"prepatch": (1, 3, 0), "v5": (1, 1, 0)}


@pytest.fixture(scope="module")
def objcg_rows():
    paths = [str(ROOT / "tests" / "narrow" / f"objcg_{d}.dsl") for d in DESIGNS]   # seconds, not minutes
    err = io.StringIO()
    got = collect(paths, [()], VerifyOptions(solver=SolverOptions(timeout_s=120)), err)
    assert not got.bad_input and not got.internal, err.getvalue()
    return got.rows


def test_the_version_table_has_the_known_statuses(objcg_rows):
    assert [r.design for r in objcg_rows] == [f"objcg_{d}" for d in DESIGNS]
    for design, row in zip(DESIGNS, objcg_rows):
        for name in ("leak", "lost_update", "kthread_charged"):
            want = "violated" if name in VIOLATED.get(design, set()) else "proved"
            assert row.prop(name).status == want, (design, name)
    uaf = {d: r.prop("uaf").status for d, r in zip(DESIGNS, objcg_rows)}
    assert uaf == {"prepatch": "proved", "v1": "violated", "v2": "proved", "v3": "proved", "v4": "proved",
                   "v5": "proved"}


def test_the_columns_are_the_union_in_a_stable_order(objcg_rows):
    # v1 alone states the WARN_ON_ONCE assertion: the others show it as absent, not proved
    assert property_columns(objcg_rows) == ["leak", "uaf", "deadlock", "lost_update", "kthread_charged",
                                            "WARN_ON_ONCE"]
    text = render(objcg_rows, property_columns(objcg_rows), "plain")
    lines = text.splitlines()
    assert lines[0].split()[:6] == ["design", "leak", "uaf", "deadlock", "lost_update", "kthread_charged"]
    v5 = next(line for line in lines if line.startswith("objcg_v5"))
    assert "absent" in v5 and "violated" not in v5
    v3 = next(line for line in lines if line.startswith("objcg_v3"))
    leak = objcg_rows[3].prop("leak")
    assert f"violated k2 {len(leak.trace.steps)} st" in v3
    assert any(line.startswith("cell: status, kK the bound") for line in lines)


def test_the_common_path_cost_matches_the_hand_count(objcg_rows):
    for design, row in zip(DESIGNS, objcg_rows):
        (cost,) = row.costs
        assert cost.name == "allocation"
        if design in HAND_COUNTED:
            assert (cost.rmw, cost.loads, cost.stores) == HAND_COUNTED[design], design
    text = render(objcg_rows, property_columns(objcg_rows), "plain")
    assert "allocation (rmw / ld / st)" in text
    assert next(line for line in text.splitlines() if line.startswith("objcg_prepatch")).endswith("1 / 3 / 0")


def test_disagreements_print_the_shortest_distinguishing_execution(objcg_rows):
    text = disagreements_text(objcg_rows, property_columns(objcg_rows))
    assert "leak: violated by objcg_v3; not by objcg_prepatch, objcg_v1, objcg_v2, objcg_v4, objcg_v5." in text
    v3_leak = objcg_rows[3].prop("leak")
    assert (f"The shortest execution of objcg_v3 that violates leak ({len(v3_leak.trace.steps)} steps) "
            "tells it apart from objcg_prepatch, objcg_v1, objcg_v2, objcg_v4, objcg_v5:") in text
    assert "no such execution within the bound 2, which covered every execution" in text
    assert f"counterexample: leak (leak) in {objcg_rows[3].outcome.path}" in text
    assert v3_leak.trace.violation in " ".join(text.split())   # wrapped to 100 columns (NOTE(trace-table))
    # every design violates nothing the others all violate: kthread_charged splits 4 against 2
    assert "kthread_charged: violated by objcg_v1, objcg_v2, objcg_v3, objcg_v4; not by objcg_prepatch, objcg_v5." in text
    # deadlock: no design violates it, so nothing distinguishes them
    assert "deadlock:" not in text


# ---- small designs ------------------------------------------------------------------------------

HARNESS = """
param START = 0;
shared word n = START;
ghost word done = 0;
thread A { bump(); atomic { done = done + 1; } }
thread B {
  bump();
  atomic { done = done + 1; }
  await(done == 2);
  word c = n;
  assert(c == START + 2, "count");
}
common_path bump_once given { n = 5; } { bump(); }
"""

ATOMIC = """
include "harness.dsl";
proc void bump(void) { atomic_inc(&n); }
"""

RACY = """
include "harness.dsl";
proc void bump(void) {
  word t = n;
  n = t + 1;
}
"""

CHECKED = """
include "harness.dsl";
proc void bump(void) {
  atomic_inc(&n);
  word v = n;
  assert(v != 0, "positive");
}
"""


@pytest.fixture
def designs(models):
    models.write(HARNESS, "harness.dsl")
    models.write(ATOMIC, "atomic.dsl")
    models.write(RACY, "racy.dsl")
    models.write(CHECKED, "checked.dsl")
    return models


def test_the_sweep_multiplies_the_rows(designs):
    run = designs.cli("compare", "atomic.dsl", "racy.dsl", "-D", "START=0,1,2", "--format", "csv")
    assert run.rc == 1, run.err
    rows = list(csv.DictReader(io.StringIO(run.out)))
    assert [(r["design"], r["START"]) for r in rows] == [
        ("atomic", "0"), ("racy", "0"), ("atomic", "1"), ("racy", "1"), ("atomic", "2"), ("racy", "2")]
    assert {r["design"]: r["count.status"] for r in rows} == {"atomic": "proved", "racy": "violated"}


def test_two_swept_params_give_the_cartesian_product(designs):
    designs.write(HARNESS.replace("param START = 0;", "param START = 0;\nparam SPARE = 0;"), "harness.dsl")
    run = designs.cli("compare", "atomic.dsl", "-D", "START=0,1", "-D", "SPARE=3,4,5", "--format", "csv")
    assert run.rc == 0, run.err
    rows = list(csv.DictReader(io.StringIO(run.out)))
    assert [(r["START"], r["SPARE"]) for r in rows] == [(a, b) for a in "01" for b in "345"]


def test_csv_parses_back_one_field_per_datum(designs):
    run = designs.cli("compare", "atomic.dsl", "racy.dsl", "checked.dsl", "--format", "csv")
    assert run.rc == 1, run.err
    rows = list(csv.DictReader(io.StringIO(run.out)))
    assert [r["design"] for r in rows] == ["atomic", "racy", "checked"]
    assert [r["model"] for r in rows] == ["atomic.dsl", "racy.dsl", "checked.dsl"]
    racy = rows[1]
    assert (racy["count.status"], racy["count.bound"]) == ("violated", "2")
    assert int(racy["count.steps"]) > 0 and float(racy["count.time_s"]) >= 0
    assert rows[0]["count.steps"] == ""
    assert [r["positive.status"] for r in rows] == ["absent", "absent", "proved"]
    assert [(r["bump_once.rmw"], r["bump_once.loads"], r["bump_once.stores"]) for r in rows] == [
        ("1", "0", "0"), ("0", "1", "1"), ("1", "1", "0")]
    assert "counterexample" not in run.out   # csv holds the table only


@pytest.mark.parametrize("fmt, marks", [
    ("plain", ["design", "count", "bump_once (rmw / ld / st)"]),
    ("github", ["| design", "|---", "| racy"]),
    ("latex", ["\\begin{tabular}", "\\hline", "racy", "\\end{tabular}"]),
])
def test_each_format_renders_the_table_and_the_legend(designs, fmt, marks):
    run = designs.cli("compare", "atomic.dsl", "racy.dsl", "--format", fmt)
    assert run.rc == 1, run.err
    for mark in marks:
        assert mark in run.out, (mark, run.out)
    assert "cell: status, kK the bound" in run.out and "common path: atomic read-modify-writes" in run.out
    assert "count: violated by racy; not by atomic." in run.out
    if fmt == "latex":   # the prose around the table is commented out: a LaTeX fragment
        after = run.out.split("\\end{tabular}", 1)[1]
        assert all(line.startswith("%") for line in after.strip().splitlines())


def test_a_property_a_design_lacks_is_absent_not_proved(designs):
    run = designs.cli("compare", "atomic.dsl", "checked.dsl")
    assert run.rc == 0, run.err
    lines = run.out.splitlines()
    assert lines[0].split() == ["design", "uaf", "deadlock", "count", "positive", "bump_once", "(rmw", "/",
                                "ld", "/", "st)"]
    atomic = next(line for line in lines if line.startswith("atomic"))
    assert atomic.split()[-6:] == ["absent", "1", "/", "0", "/", "0"]
    assert "Distinguishing executions" not in run.out


def test_leak_is_a_column_only_when_some_design_has_a_refcounted_object(designs):
    # the small designs have no refcounted object, so no leak (above); a design that keeps a
    # refcounted object has one, first as always, and the others have none: absent, not proved
    designs.write(ATOMIC + "refcounted struct obj { word x; };\nobject struct obj o;\nthread K { kill(&o); }\n",
                  "owner.dsl")
    run = designs.cli("compare", "atomic.dsl", "owner.dsl", "--format", "csv")
    assert run.rc == 0, run.err
    rows = list(csv.DictReader(io.StringIO(run.out)))
    assert [key for key in rows[0] if key.endswith(".status")] == [
        "leak.status", "uaf.status", "deadlock.status", "count.status"]
    assert [(r["design"], r["leak.status"]) for r in rows] == [("atomic", "absent"), ("owner", "proved")]
    run = designs.cli("compare", "atomic.dsl", "-p", "leak")
    assert run.rc == 2
    assert ("--property leak: no model has a property of that name or kind (its properties: uaf, deadlock, count; "
            "leak only with an object of a refcounted struct)") in run.err


def test_the_distinguishing_execution_names_both_designs_and_the_bound(designs):
    run = designs.cli("compare", "atomic.dsl", "racy.dsl", "-p", "count")
    assert run.rc == 1, run.err
    out = run.out
    assert "count: violated by racy; not by atomic." in out
    assert "The shortest execution of racy that violates count (" in out and "tells it apart from atomic:" in out
    assert "  atomic: no such execution within the bound 2, which covered every execution" in out
    assert "counterexample: count (assert) in racy.dsl" in out
    assert "=> assertion count failed in thread B at harness.dsl:10" in out


def test_a_bounded_design_is_told_its_bound_did_not_cover_everything(designs):
    designs.write("""
        include "harness.dsl";
        ghost word rounds = 0;
        proc void bump(void) {
          while (READ_ONCE(done) == 1) {     // B spins forever once A is done, counting its
            rounds++;                        // rounds: not a spin loop, so the bound applies
          }
          atomic_inc(&n);
        }
    """, "spinning.dsl")
    designs.write(HARNESS.replace("ghost word done = 0;", "shared word done = 0;"), "harness.dsl")
    run = designs.cli("compare", "spinning.dsl", "racy.dsl", "-p", "count")
    assert run.rc == 1, run.err
    assert "spinning: no such execution within the bound 2, but that bound did not cover every execution" in run.out


def test_jobs_and_progress_reach_the_batch_runner(designs, monkeypatch):
    seen = []
    real = compare_mod.verify_models

    def spy(paths, options, jobs=1, progress=None, scheduler=None):
        seen.append((jobs, progress))
        return real(paths, options, jobs=jobs, progress=progress, scheduler=scheduler)

    monkeypatch.setattr(compare_mod, "verify_models", spy)
    run = designs.cli("compare", "atomic.dsl", "--jobs", "3", "-D", "START=0,1")
    assert run.rc == 0, run.err
    assert [jobs for jobs, _ in seen] == [3, 3] and all(p is not None for _, p in seen)


# ---- the cost of a common path --------------------------------------------------------------------

def test_cost_counts_the_path_and_not_its_given_block_ghosts_or_const_fields(models):
    models.write("""
        struct task { const word flags; word x; };
        object struct task me = { .flags = 4, .x = 0 };
        shared word lock = 0;
        ghost word seen = 0;
        thread T (current = &me) { path(); }
        proc void path(void) {
          word f = current->flags;              // const: not an access
          seen = 1;                             // ghost: not counted
          spin_lock(&lock);                     // RMW
          word x = current->x;                  // load
          current->x = x + f;                   // store
          spin_unlock(&lock);                   // a store
        }
        common_path p (current = &me) given { me.x = 3; spin_lock(&lock); spin_unlock(&lock); } { path(); }
    """)
    (cost,) = common_path_costs("m.dsl")
    assert (cost.name, cost.rmw, cost.loads, cost.stores) == ("p", 1, 1, 2)


def test_the_prover_does_not_run_a_common_path(models):
    run = models.run("""
        shared word n = 0;
        thread T { atomic_inc(&n); }
        common_path p given { } { assert(n == 7, "never"); }
    """)
    assert run.rc == 0, run.out + run.err
    assert "never" not in run.out


@pytest.mark.parametrize("body, phrase", [
    ("{ await(n == 7); }", "common_path p: the path cannot go on here: it waits forever"),
    ("{ word v = nondet(2); n = v; }", "common_path p: nondet() here: the path must be one execution"),
    ("{ assert(n == 7, \"seven\"); }", "common_path p: assertion seven failed"),
    ("{ while (n == 0) { n = 0; } }", "common_path p: the path does not end within"),
    # a spin loop (docs/semantics.md, "Spin loops") that goes round again waits forever alone
    ("{ while (n == 0) { } }", "common_path p: the path cannot go on here: this spin loop goes round again"),
])
def test_a_common_path_that_is_not_one_finite_execution_is_bad_input(models, body, phrase):
    models.write(f"""
        shared word n = 0;
        thread T {{ atomic_inc(&n); }}
        common_path p given {{ }} {body}
    """)
    run = models.cli("compare", "m.dsl")
    assert run.rc == 2, run.out + run.err
    assert "Traceback" not in run.err and run.out == ""
    assert run.err.startswith("m.dsl:3:"), run.err
    assert phrase in run.err


def test_a_failing_given_block_is_named(models):
    models.write("""
        shared word n = 0;
        thread T { atomic_inc(&n); }
        common_path p given { await(n == 1); } { n = 2; }
    """)
    run = models.cli("compare", "m.dsl")
    assert run.rc == 2 and "common_path p: the 'given' block: the path cannot go on here" in run.err


@pytest.mark.parametrize("decls, where, phrase", [
    ("common_path n given { } { }", "m.dsl:3:1", "'n' is already declared"),
    ("common_path p (current = n) given { } { }", "m.dsl:3:26", "expected '&object' after 'current ='"),
    ("common_path p given { } { current; }", "m.dsl:3:27", "'current' is only defined"),
    ("common_path p { }", "m.dsl:3:15", "expected"),
])
def test_bad_common_path_declarations(models, decls, where, phrase):
    models.write(f"""
        shared word n = 0;
        thread T {{ atomic_inc(&n); }}
        {decls}
    """)
    run = models.cli("m.dsl")
    assert run.rc == 2, run.out + run.err
    assert "Traceback" not in run.err
    assert run.err.startswith(where + ": error:"), run.err
    assert phrase in run.err.splitlines()[0]


# ---- bad input --------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, phrase", [
    (["-D", "START=1,x"], "-D START=x: 'x' is not an integer"),
    (["-D", "START"], "-D START: expected NAME=V1,V2,..., as in -D ALLOCS=1,2,3"),
    (["-D", "START=1,,2"], "-D START=1,,2: expected NAME=V1,V2,..."),
    (["-D", "START="], "-D START=: expected NAME=V1,V2,..."),
    (["-D", "START=1", "-D", "START=2"], "'START' is swept twice"),
    (["--format", "html"], "--format html: expected one of plain, github, latex, csv"),
    (["--jobs", "0"], "--jobs 0: expected at least 1"),
    (["--jobs", "many"], "--jobs many: expected a positive integer"),
    (["--bound", "0"], "--bound 0: the bound must be at least 1"),
    (["--timeout", "0"], "--timeout 0: expected a positive number of seconds"),
    (["--frobnicate"], "unrecognized arguments: --frobnicate"),
])
def test_bad_options_exit_2_with_a_clear_message(designs, argv, phrase):
    run = designs.cli("compare", "atomic.dsl", *argv)
    assert run.rc == 2, (run.out, run.err)
    assert run.out == "" and "Traceback" not in run.err
    assert run.err.startswith("objcg-prove compare: error: "), run.err
    assert phrase in run.err.splitlines()[0]


def test_a_param_no_design_has_is_bad_input(designs):
    run = designs.cli("compare", "atomic.dsl", "-D", "NOPE=1,2")
    assert run.rc == 2 and run.out == ""
    assert "-D NOPE: the model has no param named 'NOPE' (its params: START)" in run.err
    assert run.err.count("NOPE: the model has no param") == 1   # reported once, not per setting


def test_a_property_no_design_has_is_bad_input(designs):
    run = designs.cli("compare", "atomic.dsl", "-p", "nonesuch")
    assert run.rc == 2 and run.out == ""
    assert "--property nonesuch: no model has a property of that name or kind" in run.err


def test_a_bad_model_is_reported_with_its_location(designs):
    designs.write("thread T { word v = nope; }\n", "bad.dsl")
    run = designs.cli("compare", "atomic.dsl", "bad.dsl")
    assert run.rc == 2 and run.out == ""
    assert run.err.startswith("bad.dsl:1:21: error: unknown name 'nope'")


def test_help_prints_usage_and_exits_0(designs):
    run = designs.cli("compare", "--help")
    assert run.rc == 0 and "objcg-prove compare" in run.out and "NAME=V1,V2" in run.out
