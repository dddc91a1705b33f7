"""The command line: exit statuses, --json, several models, --property, the module entry point."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from cli_helpers import BOUNDED, PROVED, VIOLATED, check_json_shape

ROOT = Path(__file__).resolve().parents[2]

LEAKY = """
refcounted struct obj { word x; };
object struct obj o;
thread T { get(&o); put(&o); }
"""

BAD = """
thread T { word v = nope; }
"""


# ---- exit statuses ---------------------------------------------------------------------------


def test_exit_0_when_every_property_is_proved(models):
    run = models.run(PROVED)
    assert run.rc == 0, run.err
    assert run.err == ""
    assert run.out.startswith("m.dsl  (bound 2, ")
    assert "VIOLATED" not in run.out and "BOUNDED" not in run.out


def test_exit_1_when_a_property_is_violated(models):
    run = models.run(VIOLATED)
    assert run.rc == 1, run.err
    assert "counterexample: count (assert) in m.dsl" in run.out
    assert "=> assertion count failed in thread B at m.dsl:10" in run.out


def test_no_traces(models):
    run = models.run(VIOLATED, "--no-traces")
    assert run.rc == 1
    assert "VIOLATED" in run.out and "counterexample:" not in run.out.replace("counterexample of", "")


def test_exit_2_on_bad_input(models):
    run = models.run(BAD)
    assert run.rc == 2
    assert run.err.startswith("m.dsl:1:21: error: unknown name 'nope'")


def test_exit_2_on_usage_errors(models):
    assert models.cli().rc == 2
    run = models.cli("--frobnicate", "m.dsl")
    assert run.rc == 2 and run.err.startswith("objcg-prove: error:")
    models.write(PROVED)
    assert models.cli("m.dsl", "--timeout", "0").rc == 2


def test_exit_3_when_bounded_and_0_with_allow_bounded(models):
    run = models.run(BOUNDED)
    assert run.rc == 3, run.err
    assert "BOUNDED" in run.out
    assert models.cli("m.dsl", "--allow-bounded").rc == 0


def test_allow_bounded_does_not_hide_violations(models):
    models.write(BOUNDED, "b.dsl")
    models.write(VIOLATED, "v.dsl")
    assert models.cli("b.dsl", "v.dsl", "--allow-bounded").rc == 1


def test_a_higher_bound_does_not_prove_a_spin_loop(models):
    run = models.run(BOUNDED, "--bound", "4", "--allow-bounded", "--json")
    assert run.rc == 0
    rows = run.json()["results"]
    assert {r["status"] for r in rows} == {"bounded"} and {r["bound"] for r in rows} == {4}


def test_unknown_is_exit_3(models):
    # a tiny resource limit makes the solver give up: that is `unknown`, never a proof
    run = models.run(PROVED, "--rlimit", "1", "--json")
    rows = run.json()["results"]
    statuses = {r["status"] for r in rows}
    assert "unknown" in statuses and statuses <= {"unknown", "proved"}   # trivial queries may still finish
    assert run.rc == 3
    assert models.cli("m.dsl", "--rlimit", "1", "--allow-bounded").rc == 3
    assert all(r["reason"] for r in rows if r["status"] == "unknown")


# ---- --json ---------------------------------------------------------------------------------


def test_json_violated(models):
    models.write(VIOLATED)
    run = models.cli("m.dsl", "--json")
    assert run.rc == 1
    doc = run.json()
    check_json_shape(doc)
    rows = {r["property"]: r for r in doc["results"]}
    # no refcounted object: no leak property
    assert {p: r["status"] for p, r in rows.items()} == {"uaf": "proved", "deadlock": "proved", "count": "violated"}
    assert {p: r["kind"] for p, r in rows.items()} == {"uaf": "uaf", "deadlock": "deadlock", "count": "assert"}
    count = rows["count"]
    assert count["model"] == "m.dsl" and count["bound"] == 2 and count["shortest"] is True
    assert count["violation"] == "assertion count failed in thread B at m.dsl:10"
    last = count["trace"][-1]
    assert (last["thread"], last["file"], last["line"], last["text"], last["changes"]) == \
        ("B", "m.dsl", 9, "word c = n;", ["c = 1"])
    assert rows["uaf"]["bound_covered"] == "the bound 2 covered every execution"
    assert doc["errors"] == []
    assert [m["model"] for m in doc["models"]] == ["m.dsl"]


def test_json_all_kinds_and_statuses(models):
    models.write(BOUNDED, "bounded.dsl")
    models.write(LEAKY, "leaky.dsl")
    models.write("""
        shared word n = 0;
        thread T { word v = n; lost_update(v == 1, "upd"); }
    """, "lost.dsl")
    run = models.cli("bounded.dsl", "leaky.dsl", "lost.dsl", "--json")
    assert run.rc == 1
    doc = run.json()
    check_json_shape(doc)
    got = {(r["model"], r["property"]): (r["kind"], r["status"]) for r in doc["results"]}
    assert got[("bounded.dsl", "seen")] == ("assert", "bounded")
    assert got[("leaky.dsl", "leak")] == ("leak", "violated")
    assert got[("lost.dsl", "upd")] == ("lost_update", "violated")
    assert got[("lost.dsl", "deadlock")] == ("deadlock", "proved")
    assert [m["model"] for m in doc["models"]] == ["bounded.dsl", "leaky.dsl", "lost.dsl"]


def test_json_reports_bad_input_as_errors(models):
    models.write(PROVED, "good.dsl")
    models.write(BAD, "bad.dsl")
    run = models.cli("good.dsl", "bad.dsl", "missing.dsl", "--json")
    assert run.rc == 2
    doc = run.json()
    check_json_shape(doc)
    assert {r["model"] for r in doc["results"]} == {"good.dsl"}
    assert doc["errors"] == [
        {"model": "bad.dsl", "file": "bad.dsl", "line": 1, "column": 21, "message": "unknown name 'nope'"},
        {"model": "missing.dsl", "file": "missing.dsl", "line": 0, "column": 0,
         "message": "cannot open 'missing.dsl': no such file"},
    ]
    assert "bad.dsl:1:21: error: unknown name 'nope'" in run.err


# ---- several models, --property --------------------------------------------------------------


def test_several_models_worst_status_wins(models):
    models.write(PROVED, "p.dsl")
    models.write(BOUNDED, "b.dsl")
    models.write(VIOLATED, "v.dsl")
    models.write(BAD, "x.dsl")
    assert models.cli("p.dsl", "p.dsl").rc == 0
    assert models.cli("p.dsl", "b.dsl").rc == 3
    assert models.cli("b.dsl", "v.dsl", "p.dsl").rc == 1
    run = models.cli("v.dsl", "x.dsl", "p.dsl")
    assert run.rc == 2
    # the good models are still checked and reported
    assert "v.dsl  (bound 2" in run.out and "p.dsl  (bound 2" in run.out


def test_property_filter_by_name_and_kind(models):
    models.write(VIOLATED)
    run = models.cli("m.dsl", "--json", "-p", "deadlock", "--property", "uaf")
    assert run.rc == 0
    assert [r["property"] for r in run.json()["results"]] == ["uaf", "deadlock"]   # report order
    run = models.cli("m.dsl", "--json", "--property", "count")
    assert run.rc == 1
    assert [r["property"] for r in run.json()["results"]] == ["count"]
    run = models.cli("m.dsl", "--json", "--property", "assert")
    assert [r["property"] for r in run.json()["results"]] == ["count"]


def test_property_filter_on_a_bounded_model(models):
    models.write(BOUNDED)
    run = models.cli("m.dsl", "--json", "-p", "seen")
    assert run.rc == 3
    assert [(r["property"], r["status"]) for r in run.json()["results"]] == [("seen", "bounded")]


def test_property_filter_naming_nothing_is_an_error(models):
    # checking nothing must not pass for "every property proved"
    models.write(VIOLATED)
    run = models.cli("m.dsl", "--property", "nosuch")
    assert run.rc == 2
    assert "--property nosuch: no model has a property of that name or kind" in run.err


def test_property_leak_on_a_model_without_refcounted_objects_is_a_usage_error(models):
    # nothing can leak without an object of a refcounted struct: the model has no leak property,
    # so -p leak names nothing, as any unknown property, and the error says what the model has
    models.write(VIOLATED)
    run = models.cli("m.dsl", "-p", "leak")
    assert run.rc == 2
    assert ("objcg-prove: error: --property leak: no model has a property of that name or kind "
            "(its properties: uaf, deadlock, count; leak only with an object of a refcounted struct)\n") in run.err
    run = models.cli("m.dsl", "--json", "--property", "leak")
    assert run.rc == 2
    assert run.json()["results"] == []
    assert run.json()["errors"][0]["message"].startswith("--property leak: no model has a property of that name")
    run = models.cli("export", "--format", "promela", "-p", "leak", "m.dsl")
    assert (run.rc, run.out) == (2, "")
    assert ("objcg-prove: error: --property leak: the model has no property of that name or kind "
            "(its properties: uaf, deadlock, count; leak only with an object of a refcounted struct)\n") == run.err


def test_version_and_help_print_to_the_given_stdout(models, capsys):
    run = models.cli("--version")
    assert (run.rc, run.err) == (0, "") and run.out.startswith("objcg-prove ")
    run = models.cli("--help")
    assert (run.rc, run.err) == (0, "") and run.out.startswith("usage: objcg-prove")
    assert capsys.readouterr().out == ""


def test_version_names_the_solver_and_help_lists_the_commands(models):
    import z3
    for flag in ("--version", "-V"):
        run = models.cli(flag)
        assert run.rc == 0 and f"(z3 {z3.get_version_string()}, Python " in run.out, run.out
    listed = models.cli("--help").out
    from objcg_proof.cli.dispatch import SUBCOMMANDS
    for name in SUBCOMMANDS:
        assert f"\n  {name} " in listed, name
    assert "exit status: 0 every property proved" in listed
    assert models.cli("help").out == listed
    run = models.cli("help", "litmus")
    assert run.rc == 0 and run.out.startswith("usage: objcg-prove litmus")
    run = models.cli("help", "frobnicate")
    assert (run.rc, run.out) == (2, "") and "no command 'frobnicate'" in run.err and "litmus" in run.err


# ---- python3 -m objcg_proof -------------------------------------------------------------------


def module(args, cwd):
    return subprocess.run([sys.executable, "-m", "objcg_proof", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})


def test_module_entry_point_on_bad_input(models):
    models.write(BAD)
    models.write("thread T { word v = 099; }\n", "octal.dsl")
    models.write("thread T {\n", "eof.dsl")
    for args, head in [
        (["m.dsl"], "m.dsl:1:21: error: unknown name 'nope'"),
        (["octal.dsl"], "octal.dsl:1:21: error: invalid number '099'"),
        (["eof.dsl"], "eof.dsl:1:11: error: syntax error: unexpected end of file"),
        (["missing.dsl"], "missing.dsl: error: cannot open 'missing.dsl': no such file"),
        (["m.dsl", "--bound", "0"], "objcg-prove: error: --bound 0: the bound must be at least 1"),
        ([], "objcg-prove: error:"),
    ]:
        proc = module(args, models.root)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr
        assert proc.stderr.startswith(head), (args, proc.stderr)


def test_module_entry_point_json(models):
    models.write(VIOLATED)
    proc = module(["m.dsl", "--json"], models.root)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    check_json_shape(doc)
    assert {r["property"]: r["status"] for r in doc["results"]}["count"] == "violated"


# ---- --layout columns (NOTE(trace-columns) in cli/report.py) ----------------------------------


def _columns_rows(out: str) -> tuple[list[str], list[str]]:
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("counterexample: count"))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("  => "))
    return lines[start + 1:end], lines[end:]


def test_columns_layout_puts_each_thread_in_its_column_time_going_down(models):
    deep = "a/rather/long/directory/path/that/would/not/fit/a/table/column/m_with_a_long_name.dsl"
    run = models.run(VIOLATED, "--layout", "columns", name=deep)
    assert run.rc == 1, run.err
    rows, tail = _columns_rows(run.out)
    header = rows[0]
    # a column per thread, in the order the threads first take a step (which of the equally
    # short traces the solver gives, and so which thread starts, depends on the process's history)
    assert header.split()[0] == "#" and sorted(header.split()[1:]) == ["A", "B"]
    first, second = header.split()[1:]
    col = {name: header.index(f" {name}") + 1 for name in ("A", "B")}
    assert all(len(line) <= 100 for line in rows), max(rows, key=len)
    numbered = [line for line in rows[2:] if line[2:col[first]].strip()]
    assert [int(line[2:col[first]]) for line in numbered] == list(range(1, len(numbered) + 1))
    assert len(numbered) == int(run.out.split("counterexample of ")[1].split()[0])
    # every cell starts with the step's location, in the column of the thread that took it
    for line in numbered:
        left, right = line[col[first]:col[second]].strip(), line[col[second]:].strip()
        assert bool(left) != bool(right), line
    # the location is wrapped, never cut: joined back, it is the whole path with its line number
    a_cell = [line[col[first]:col[second]].strip() for line in rows[2:]]
    joined = "".join(a_cell[:4])
    assert joined.startswith(deep + ":") and joined[len(deep) + 1].isdigit(), a_cell[:4]
    # the violation too is wrapped to 100 columns, at spaces: the location whole on its line
    violation = tail[:tail.index("")]
    assert all(len(line) <= 100 for line in violation)
    assert " ".join(line.strip() for line in violation) == "=> assertion count failed in thread B at " + deep + ":10"


def test_columns_layout_shows_what_changed_and_the_same_verdict_as_the_table(models):
    table = models.run(VIOLATED)
    columns = models.cli("m.dsl", "--layout", "columns")
    def verdicts(out: str) -> list[str]:   # the verdict lines, without their times
        return [re.sub(r"\d+\.\d+s\)", "s)", line) for line in out.splitlines()[:4]]
    assert verdicts(table.out) == verdicts(columns.out)
    rows, _ = _columns_rows(columns.out)
    assert any("-> n: " in line for line in rows) and any("-> done: " in line for line in rows)
    assert models.cli("m.dsl", "--layout", "diagonal").rc == 2
