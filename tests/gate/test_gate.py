"""The proof ledger and the CI gate: `objcg-prove prove --record` and `objcg-prove check`.

Small models live in a temporary project (models/ beside proofs/, the current directory); the
shipped models are checked once against the committed ledger (module fixture `shipped`), and
that run's JUnit and SARIF files are validated against the vendored schemas (tests/gate/schemas/).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Callable

import jsonschema
import pytest
import xmlschema

from cli_helpers import PROVED, VIOLATED, no_traceback, run, write
from conftest import CliRun, dedent
from model_results import SHIPPED_TIMEOUT_S, designs_lock
from objcg_proof.cli import gate
from objcg_proof.gate import cache as cache_mod
from objcg_proof.gate import ledger

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = Path(__file__).resolve().parent / "schemas"

# the assert sits behind an await that never holds: nothing is checked
VACUOUS = """
shared word n = 0;
thread A { await(n == 1); assert(n == 1, "never"); }
"""


def solver_calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Record the models `check` hands to the verifier."""
    calls: list[list[str]] = []
    real = gate.verify_models

    def counting(paths, options, jobs=1, progress=None, scheduler=None, log=False):  # type: ignore[no-untyped-def]
        calls.append(list(paths))
        return real(paths, options, jobs=jobs, progress=progress, scheduler=scheduler, log=log)

    monkeypatch.setattr(gate, "verify_models", counting)
    return calls


def edit_record(record: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Change a record's data as re-recording would (sealed again: NOTE(record-seal))."""
    data = json.loads(record.read_text())
    change(data)
    record.write_text(ledger.dumps(ledger.loads(json.dumps(data), str(record))))


def validate_junit(file: Path) -> None:
    xmlschema.XMLSchema(str(SCHEMAS / "junit-10.xsd")).validate(str(file))


def validate_sarif(file: Path) -> dict:  # type: ignore[type-arg]
    schema = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    log = json.loads(file.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker()).validate(log)
    return log  # type: ignore[no-any-return]


# ---- recording ------------------------------------------------------------------------------------


def test_record_then_check_passes(project: Path) -> None:
    m = write(project, VIOLATED)
    rec = run("prove", "--record", "--no-traces", m)
    assert rec.rc == 1, rec.err          # the prove exit status: a property is violated
    record = project / "proofs" / "models" / "m.dsl.json"
    assert f"{Path('proofs/models/m.dsl.json')}: recorded" in rec.err
    data = json.loads(record.read_text())
    assert data["model"] == "models/m.dsl"
    assert data["files"] == ["models/m.dsl"]
    assert data["bound"] == 2 and data["params"] == {}
    props = {p["name"]: p for p in data["properties"]}
    assert props["count"]["status"] == "violated" and props["count"]["trace_steps"] == 8
    assert props["count"]["kind"] == "assert"
    assert props["uaf"]["status"] == "proved" and props["uaf"]["trace_steps"] is None
    assert "leak" not in props        # no refcounted object: the model has no leak property
    chk = run("check", m)
    assert chk.rc == 0, chk.out + chk.err
    assert chk.out.startswith("models/m.dsl: as recorded (3 properties")
    assert chk.out.endswith("\ngate: 1 passed, 0 failed\n")


def test_re_recording_an_unchanged_model_gives_the_same_bytes(project: Path) -> None:
    m = write(project, VIOLATED)
    run("prove", "--record", m)
    record = project / "proofs" / "models" / "m.dsl.json"
    first = record.read_bytes()
    again = run("prove", "--record", m)
    assert record.read_bytes() == first
    assert first.endswith(b"}\n")
    assert "unchanged" in again.err


def test_re_recording_says_what_changed(project: Path) -> None:
    m = write(project, VIOLATED)
    run("prove", "--record", m)
    write(project, PROVED)
    rec = run("prove", "--record", m)
    assert rec.rc == 0, rec.err
    assert "re-recorded; what changed:" in rec.err
    assert "count: violated (counterexample of 8 steps) -> proved" in rec.err
    assert "sha256: " in rec.err


def test_record_with_d_and_bound(project: Path) -> None:
    m = write(project, "param N = 1;\nshared word n = 0;\nthread A { atomic_inc(&n); word c = n; assert(c == N, \"n\"); }\n")
    rec = run("prove", "--record", "-D", "N=1", "--bound", "3", m)
    assert rec.rc == 0, rec.err
    data = json.loads((project / "proofs/models/m.dsl.json").read_text())
    assert data["params"] == {"N": 1} and data["bound"] == 3
    assert run("check", m).rc == 0
    # check runs with the record's values; other values on the command line are bad input
    wrong = run("check", "-D", "N=2", m)
    assert wrong.rc == 2 and "-D N=2, but" in wrong.err and "recorded with -D N=1" in wrong.err
    no_traceback(wrong)


def test_record_refuses_unknown(project: Path) -> None:
    m = write(project, VIOLATED)
    rec = run("prove", "--record", "--rlimit", "1", m)
    assert rec.rc == 3
    assert "not recorded" in rec.err and "unknown" in rec.err and "raise --timeout" in rec.err
    assert not (project / "proofs").exists()


def test_record_refuses_vacuous(project: Path) -> None:
    m = write(project, VACUOUS)
    rec = run("prove", "--record", m)
    assert rec.rc == 3
    assert "never is vacuous" in rec.err and "fix the model" in rec.err
    assert not (project / "proofs").exists()


def test_record_refuses_an_unknown_without_touching_the_old_record(project: Path) -> None:
    m = write(project, VIOLATED)
    run("prove", "--record", m)
    record = project / "proofs/models/m.dsl.json"
    before = record.read_bytes()
    assert run("prove", "--record", "--rlimit", "1", m).rc == 3
    assert record.read_bytes() == before


def test_bad_input_records_nothing(project: Path) -> None:
    good = write(project, PROVED, "models/good.dsl")
    bad = write(project, "thread T { word v = nope; }\n", "models/bad.dsl")
    rec = run("prove", "--record", good, bad)
    assert rec.rc == 2
    assert "models/bad.dsl:1:21: error:" in rec.err and "nothing recorded" in rec.err
    assert not (project / "proofs").exists()
    no_traceback(rec)


def test_an_unwritable_record_is_an_error_not_a_traceback(project: Path) -> None:
    m = write(project, PROVED)
    (project / "proofs").write_text("a file where the ledger directory goes")
    rec = run("prove", "--record", m)
    assert rec.rc == 2 and "m.dsl.json: not recorded: Not a directory" in rec.err, rec.err
    no_traceback(rec)


def test_record_refuses_property_selection(project: Path) -> None:
    m = write(project, PROVED)
    rec = run("prove", "--record", "-p", "count", m)
    assert rec.rc == 2 and "--property" in rec.err
    assert not (project / "proofs").exists()


def test_model_outside_the_project_is_bad_input(project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "x.dsl"
    elsewhere.write_text(dedent(PROVED))
    rec = run("prove", "--record", str(elsewhere))
    assert rec.rc == 2 and "outside the project root" in rec.err
    no_traceback(rec)


def test_prove_without_record_is_the_default_command(project: Path) -> None:
    m = write(project, VIOLATED)
    explicit, default = run("prove", "--no-traces", m), run("--no-traces", m)
    assert explicit.rc == default.rc == 1
    strip = lambda text: [line.rsplit("(", 1)[0] for line in text.splitlines()]  # noqa: E731  (times differ)
    assert strip(explicit.out) == strip(default.out)
    assert not (project / "proofs").exists()


# ---- checking: what differs -----------------------------------------------------------------------


def recheck(project: Path, recorded: str, now: str) -> tuple[str, CliRun]:
    """Record the model as `recorded`, change it to `now`, check it."""
    m = write(project, recorded)
    run("prove", "--record", m)
    write(project, now)
    return m, run("check", m)


def test_a_new_violation_fails_with_a_readable_diff(project: Path) -> None:
    m, chk = recheck(project, PROVED, VIOLATED)
    assert chk.rc == 1
    assert "models/m.dsl: count: expected proved, now violated (counterexample of 8 steps)" in chk.out
    assert "re-record: objcg-prove prove --record --bound 2 models/m.dsl" in chk.out
    assert "=> assertion count failed" in chk.out        # the counterexample follows


def test_an_expected_violation_that_disappeared_fails(project: Path) -> None:
    _, chk = recheck(project, VIOLATED, PROVED)
    assert chk.rc == 1
    assert ("models/m.dsl: count: expected violated (counterexample of 8 steps), now proved "
            "(the recorded violation is gone)") in chk.out


def test_new_and_removed_properties_fail(project: Path) -> None:
    _, chk = recheck(project, PROVED, PROVED.replace('"count"', '"total"'))
    assert chk.rc == 1
    assert "models/m.dsl: count: the record expects proved, but the model no longer has this property" in chk.out
    assert "models/m.dsl: total: a assert property the record does not know, now proved" in chk.out


def test_a_recorded_leak_of_a_model_without_refcounted_objects_fails(project: Path) -> None:
    # the object is gone from the model: nothing can leak, so it no longer has a leak property,
    # and the record's leak is reported like any property the model no longer has
    with_object = 'refcounted struct obj { word x; };\nobject struct obj o;\nthread K { kill(&o); }\n' + PROVED
    _, chk = recheck(project, with_object, PROVED)
    assert chk.rc == 1
    assert "models/m.dsl: leak: the record expects proved, but the model no longer has this property" in chk.out
    assert "re-record: objcg-prove prove --record --bound 2 models/m.dsl" in chk.out
    rec = run("prove", "--record", "models/m.dsl")
    assert rec.rc == 0 and "leak: removed (was proved)" in rec.err
    data = json.loads((project / "proofs" / "models" / "m.dsl.json").read_text())
    assert [p["name"] for p in data["properties"]] == ["uaf", "deadlock", "count"]
    assert run("check", "models/m.dsl").rc == 0


def test_stale_hash_passes_and_says_so(project: Path) -> None:
    m = write(project, VIOLATED)
    run("prove", "--record", m)
    (project / m).write_text("// a comment changes the hash, not the verdicts\n" + dedent(VIOLATED))
    chk = run("check", m)
    assert chk.rc == 0, chk.out
    assert "note: the record's hash is stale" in chk.out
    assert "to refresh it: objcg-prove prove --record" in chk.out


def test_a_changed_trace_length_is_a_note(project: Path) -> None:
    m = write(project, VIOLATED)
    run("prove", "--record", m)
    edit_record(project / "proofs/models/m.dsl.json",
                lambda data: next(p for p in data["properties"] if p["name"] == "count").update(trace_steps=12))
    chk = run("check", m)
    assert chk.rc == 0
    assert "note: count: still violated, but the shortest counterexample has 8 steps (recorded: 12)" in chk.out


def test_unknown_now_is_inconclusive_never_a_pass(project: Path) -> None:
    m = write(project, PROVED)
    run("prove", "--record", m)
    chk = run("check", "--rlimit", "1", "--no-cache", m)
    assert chk.rc == 3
    assert "expected proved, now unknown (solver resource limit" in chk.out


def test_missing_record(project: Path) -> None:
    m = write(project, PROVED)
    chk = run("check", m)
    assert chk.rc == 2
    assert f"no ledger record ({Path('proofs/models/m.dsl.json')} does not exist)" in chk.err
    assert "record it with: objcg-prove prove --record models/m.dsl" in chk.err
    no_traceback(chk)


def test_a_model_that_does_not_exist_is_named_as_such(project: Path) -> None:
    chk = run("check", "models/nope.dsl")
    assert chk.rc == 2
    assert "models/nope.dsl: error: cannot open 'models/nope.dsl': no such file" in chk.err
    assert "no ledger record" not in chk.err
    no_traceback(chk)


@pytest.mark.parametrize("text, phrase", [
    ('{"format": "objcg-prove ledger 1",\n  "bound": 2,,}', "m.dsl.json:2:14: malformed ledger record: Expecting property name"),
    ("[1, 2]", "malformed ledger record: the record must be a JSON object"),
    ('{"format": "objcg-prove ledger 1"}', "malformed ledger record: 'params' is missing"),
])
def test_malformed_record(project: Path, text: str, phrase: str) -> None:
    m = write(project, PROVED)
    run("prove", "--record", m)
    (project / "proofs/models/m.dsl.json").write_text(text)
    chk = run("check", m)
    assert chk.rc == 2
    assert phrase in chk.err, chk.err
    assert str(Path("proofs/models/m.dsl.json")) in chk.err
    no_traceback(chk)


def test_a_recorded_status_that_cannot_be_an_expectation_is_malformed(project: Path) -> None:
    m = write(project, PROVED)
    run("prove", "--record", m)
    record = project / "proofs/models/m.dsl.json"
    record.write_text(record.read_text().replace('"status": "proved"', '"status": "unknown"', 1))
    chk = run("check", m)
    assert chk.rc == 2 and "properties[0]: 'status' is 'unknown', expected one of proved, violated, bounded" in chk.err


def test_one_bad_record_does_not_hide_the_others(project: Path) -> None:
    a, b = write(project, PROVED, "models/a.dsl"), write(project, PROVED, "models/b.dsl")
    run("prove", "--record", a)
    chk = run("check", a, b)
    assert chk.rc == 2
    assert "models/a.dsl: as recorded" in chk.out and "models/b.dsl: no ledger record" in chk.err
    assert chk.out.endswith("\ngate: 1 passed, 1 failed\n")


# ---- the mutated shipped design --------------------------------------------------------------------


@pytest.fixture
def mutated_v5(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the project's models/ and proofs/ with mem_cgroup_exit()'s put dropped in v5."""
    shutil.copytree(ROOT / "models", tmp_path / "models")
    shutil.copytree(ROOT / "proofs", tmp_path / "proofs")
    v5 = tmp_path / "models" / "objcg_v5.dsl"
    lines = v5.read_text().splitlines(keepends=True)
    exit_put = [i for i, line in enumerate(lines) if "put(objcg);" in line and "obj_cgroup_put(objcg)" in line
                and "mem_cgroup_exit" in "".join(lines[max(0, i - 6):i])]
    assert len(exit_put) == 1, exit_put
    del lines[exit_put[0]]
    lines.insert(exit_put[0], "        ;\n")   # keep the line numbers of everything after it
    v5.write_text("".join(lines))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_dropping_a_put_from_v5_fails_the_gate_naming_leak(mutated_v5: Path) -> None:
    chk = run("check", "--junit", "j.xml", "--sarif", "s.sarif", "models/objcg_v5.dsl")
    assert chk.rc == 1, chk.out + chk.err
    first = chk.out.splitlines()[0]
    assert first.startswith("models/objcg_v5.dsl: leak: expected proved, now violated (counterexample of ")
    assert "never released" in chk.out
    validate_junit(mutated_v5 / "j.xml")
    junit = (mutated_v5 / "j.xml").read_text()
    assert '<failure message="leak: expected proved, now violated' in junit
    assert "never released" in junit                 # the trace is in the failure
    log = validate_sarif(mutated_v5 / "s.sarif")
    leaks = [r for r in log["runs"][0]["results"] if r["ruleId"] == "leak"]
    assert len(leaks) == 1 and leaks[0]["level"] == "error" and leaks[0]["baselineState"] == "new"
    assert leaks[0]["codeFlows"][0]["threadFlows"][0]["locations"]


# ---- the cache ---------------------------------------------------------------------------------------


def test_a_second_check_is_answered_from_the_cache(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    m = write(project, VIOLATED)
    run("prove", "--record", m)
    calls = solver_calls(monkeypatch)
    cold = run("check", "--json", m)
    warm = run("check", "--json", m)
    assert calls == [[m]]
    assert cold.rc == warm.rc == 0
    assert cold.json()["models"][0]["cached"] is False
    assert warm.json()["models"][0]["cached"] is True
    assert cold.json()["results"] == warm.json()["results"]
    assert (project / ".objcg-cache").is_dir()


def test_no_cache_solves_again(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    m = write(project, PROVED)
    run("prove", "--record", m)
    calls = solver_calls(monkeypatch)
    run("check", "--no-cache", m)
    run("check", "--no-cache", m)
    assert len(calls) == 2
    assert not (project / ".objcg-cache").exists()


def test_a_changed_model_or_prover_is_solved_again(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    m = write(project, PROVED)
    run("prove", "--record", m)
    calls = solver_calls(monkeypatch)
    run("check", m)
    (project / m).write_text("// changed\n" + dedent(PROVED))
    run("check", m)
    assert len(calls) == 2
    monkeypatch.setattr(cache_mod, "source_digest", lambda: "a different prover")
    run("check", m)
    assert len(calls) == 3


def test_a_corrupt_cache_entry_is_ignored_and_rewritten(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    m = write(project, VIOLATED)
    run("prove", "--record", m)
    run("check", "--cache-dir", "c", m)
    [entry] = list((project / "c").glob("*.json"))
    good = entry.read_text()
    for garbage in (good[: len(good) // 2], "{}", json.dumps({"format": "objcg-prove cache 1", "key": entry.stem,
                                                              "result": {"path": 3}})):
        entry.write_text(garbage)
        calls = solver_calls(monkeypatch)
        chk = run("check", "--cache-dir", "c", m)
        assert chk.rc == 0, chk.err
        assert calls == [[m]]
        assert json.loads(entry.read_text())["key"] == entry.stem
    assert not [f for f in (project / "c").iterdir() if f.suffix == ".tmp"]


def test_warm_and_cold_checks_print_and_write_the_same(project: Path) -> None:
    m = write(project, PROVED)
    run("prove", "--record", m)
    write(project, VIOLATED)                      # a gate failure with a counterexample
    cold = run("check", "--junit", "cold.xml", "--sarif", "cold.sarif", m)
    warm = run("check", "--junit", "warm.xml", "--sarif", "warm.sarif", m)
    assert cold.rc == warm.rc == 1
    assert cold.out == warm.out
    assert (project / "cold.xml").read_bytes() == (project / "warm.xml").read_bytes()
    assert (project / "cold.sarif").read_bytes() == (project / "warm.sarif").read_bytes()


# ---- the shipped models against the committed ledger -----------------------------------------------


# NOTE(designs-solved-once): scripts/test runs the suite in two pytest-xdist workers, each test
# file in one of them (--dist loadfile). The check below solves the six designs on the full
# scenario and fills .objcg-cache; tests/prove/test_models.py reads them from there
# (tests/model_results.py). Both hold model_results.designs_lock while they look up and solve,
# so whichever comes first solves and the other reads.


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> tuple[CliRun, Path]:
    """One check of every shipped model against proofs/ (minutes: the six designs on the full
    scenario), shared by the tests below."""
    out = tmp_path_factory.mktemp("shipped")
    # run as scripts/test's own `check` runs afterwards, from the top of the checkout with the
    # same relative paths and options: a cache entry's key includes the path a model was given
    # as, so that check then finds every model in the cache and only replays
    models = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "models").glob("*.dsl")) + \
        sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "models" / "examples").glob("*.dsl"))
    with pytest.MonkeyPatch.context() as mp, designs_lock():
        mp.chdir(ROOT)
        r = run("check", "--cache-dir", ".objcg-cache", "--json",
                "--timeout", str(SHIPPED_TIMEOUT_S), "--jobs", "2",
                "--junit", str(out / "gate.xml"), "--sarif", str(out / "gate.sarif"), *models)
    return r, out


def test_the_shipped_models_match_the_committed_ledger(shipped: tuple[CliRun, Path]) -> None:
    r, _ = shipped
    assert r.rc == 0, r.out + r.err
    report = r.json()
    assert len(report["models"]) == 12   # six designs, six examples
    assert {m["status"] for m in report["models"]} == {"pass"}
    # every shipped model has a record (the one of its declared memory model), and every record
    # a shipped model
    records = sorted((ROOT / "proofs").rglob("*.json"))
    assert len(records) == 12 and [r.name for r in records if r.name.endswith(".lkmm.json")] == \
        ["peterson_mb.dsl.lkmm.json"]


def test_shipped_junit_is_valid(shipped: tuple[CliRun, Path]) -> None:
    _, out = shipped
    validate_junit(out / "gate.xml")
    text = (out / "gate.xml").read_text()
    assert text.count("<testsuite ") == 12 and "<failure" not in text


def test_shipped_sarif_is_valid_and_locates_violations(shipped: tuple[CliRun, Path]) -> None:
    _, out = shipped
    log = validate_sarif(out / "gate.sarif")
    results = log["runs"][0]["results"]
    # the recorded violations: v1 3, v2 2, v3 2, v4 1, counter 1, refcount 1, peterson_broken 1,
    # per_node_objcg 1
    assert len(results) == 12
    assert {r["level"] for r in results} == {"warning"} and {r["baselineState"] for r in results} == {"unchanged"}
    kthread = [r for r in results if r["properties"]["property"] == "kthread_charged"]
    assert len(kthread) == 4
    for r in kthread:   # an assert: located at the assert's own line
        region = r["locations"][0]["physicalLocation"]
        assert region["artifactLocation"]["uri"].endswith("models/harness/objcg.dsl")
        line = (ROOT / "models/harness/objcg.dsl").read_text().splitlines()[region["region"]["startLine"] - 1]
        assert "kthread_charged" in line
    # a leak: located at the reference taken and never released (v3: the tryget of an iteration
    # whose try_cmpxchg failed), which its message names too
    [leak] = [r for r in results if r["properties"]["property"] == "leak" and r["properties"]["model"].endswith("v3.dsl")]
    region = leak["locations"][0]["physicalLocation"]
    assert region["artifactLocation"]["uri"].endswith("models/objcg_v3.dsl")
    line = (ROOT / "models/objcg_v3.dsl").read_text().splitlines()[region["region"]["startLine"] - 1]
    assert "tryget(objcg)" in line
    assert f"models/objcg_v3.dsl:{region['region']['startLine']})" in leak["message"]["text"]
