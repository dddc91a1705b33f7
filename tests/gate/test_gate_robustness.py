"""The gate under bad input and faults: edited or damaged cache entries and ledger records, odd
files where a record goes, internal errors, and output files CI systems must be able to read.

Each test is a reproducer: what used to be a wrong pass, a traceback, a misplaced diagnostic, an
invalid report or a 0600 file. Small models live in a temporary project (test_gate.project).
"""

from __future__ import annotations

import json
import os
import stat
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from cli_helpers import PROVED, VIOLATED, no_traceback, run, write
from conftest import dedent
from test_gate import edit_record, solver_calls, validate_junit, validate_sarif
from objcg_proof.cli import dispatch as cli
from objcg_proof.cli import gate
from objcg_proof.gate import ledger
from objcg_proof.gate.cache import entry_digest
from objcg_proof.gate.files import write_atomically
from objcg_proof.lang.diagnostics import SourceCache
from objcg_proof.runner.batch import ModelOutcome

RECORD = "proofs/models/m.dsl.json"


def recorded(project: Path, text: str = VIOLATED) -> str:
    m = write(project, text)
    rec = run("prove", "--record", "--no-traces", m)
    assert rec.rc in (0, 1), rec.err
    return m


def cache_entry(project: Path, cache_dir: str = "c") -> Path:
    [entry] = list((project / cache_dir).glob("*.json"))
    return entry


def edit_entry(entry: Path, change: Any, reseal: bool = False) -> None:
    """Change a cache entry's result; with `reseal`, give it the sha256 of its new content."""
    data = json.loads(entry.read_text())
    change(data["result"])
    if reseal:
        data["sha256"] = entry_digest(data["key"], data["result"])
    entry.write_text(json.dumps(data))


def raising(exc: BaseException) -> Any:
    """A function that raises `exc`, whatever it is called with (a tool bug, simulated)."""
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise exc
    return broken


def count_property(result: dict[str, Any]) -> dict[str, Any]:
    return next(p for p in result["properties"] if p["name"] == "count")


# ---- the cache: nothing is served that cannot be checked ----------------------------------------


def test_an_edited_cached_trace_is_solved_again_not_served(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the reproducer: one step at line 999999 was served "as recorded (from the cache)"
    m = recorded(project)
    run("check", "--cache-dir", "c", m)
    entry = cache_entry(project)
    edit_entry(entry, lambda r: count_property(r)["trace"].update(
        steps=[dict(count_property(r)["trace"]["steps"][0], line=999999)]))
    calls = solver_calls(monkeypatch)
    chk = run("check", "--cache-dir", "c", m)
    assert chk.rc == 0 and calls == [[m]], chk.err
    assert "from the cache" not in chk.out
    assert "ignored the cache entry" in chk.err and "does not match its sha256" in chk.err
    assert '"line": 999999' not in entry.read_text()    # rewritten from the new solve
    assert "from the cache" in run("check", "--cache-dir", "c", m).out


def test_a_cached_counterexample_is_replayed_like_a_fresh_one(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # an edit that also fixes the sha256 still cannot serve a counterexample that does not replay
    m = recorded(project)
    run("check", "--cache-dir", "c", m)
    entry = cache_entry(project)
    edit_entry(entry, lambda r: count_property(r)["trace"].update(
        steps=[dict(count_property(r)["trace"]["steps"][0], line=999999)]), reseal=True)
    calls = solver_calls(monkeypatch)
    chk = run("check", "--cache-dir", "c", m)
    assert chk.rc == 0 and calls == [[m]]
    assert "ignored the cache entry" in chk.err and "does not replay" in chk.err
    no_traceback(chk)


def test_a_cached_violation_edited_into_a_proof_never_passes(project: Path) -> None:
    m = recorded(project, PROVED)         # the record expects `count` proved
    write(project, VIOLATED)              # the model breaks: the gate fails, and caches that result
    assert run("check", "--cache-dir", "c", m).rc == 1
    entry = cache_entry(project)

    def proved(result: dict[str, Any]) -> None:
        count_property(result).update(status="proved", trace=None, coverage="the bound 2 covered every execution")
    edit_entry(entry, proved)
    chk = run("check", "--cache-dir", "c", m)
    assert chk.rc == 1, chk.out + chk.err
    assert "count: expected proved, now violated" in chk.out
    assert "does not match its sha256" in chk.err


@pytest.mark.parametrize("damage", ["nested", "huge number", "directory", "fifo", "not utf-8", "a list"])
def test_a_damaged_cache_entry_is_ignored_without_a_traceback(project: Path, damage: str) -> None:
    m = recorded(project)
    run("check", "--cache-dir", "c", m)
    entry = cache_entry(project)
    entry.unlink()
    if damage == "nested":
        entry.write_text("[" * 100_000)
    elif damage == "huge number":
        entry.write_text('{"format": "objcg-prove cache 3", "x": 1' + "0" * 5000 + "}")
    elif damage == "directory":
        entry.mkdir()
    elif damage == "fifo":
        os.mkfifo(entry)                  # reading it would block for ever
    elif damage == "not utf-8":
        entry.write_bytes(b'{"format": "\xff"}')
    else:
        entry.write_text("[1, 2]")
    chk = run("check", "--cache-dir", "c", m)
    assert chk.rc == 0, chk.err
    assert "ignored the cache entry" in chk.err
    no_traceback(chk)


# ---- ledger records: edits said plainly ------------------------------------------------------------


@pytest.mark.parametrize("key, value, line", [
    ("sha256", "0" * 64, "the edited record's model hash (sha256) is 000000000000...; the model's is "),
    ("files", ["models/m.dsl", "models/other.dsl"],
     "the edited record lists the files models/m.dsl, models/other.dsl; the model reads models/m.dsl\n"),
    ("tool_version", "9.9.9", "the edited record names objcg-prove 9.9.9, z3 "),
    ("z3_version", "0.0.1", ", z3 0.0.1; this check runs objcg-prove "),
])
def test_an_edited_record_says_so_plainly_and_fails(project: Path, key: str, value: Any, line: str) -> None:
    m = recorded(project)
    record = project / RECORD
    data = json.loads(record.read_text())
    data[key] = value
    record.write_text(json.dumps(data, indent=2))        # edited by hand: the seal no longer matches
    chk = run("check", "--junit", "j.xml", "--sarif", "s.sarif", m)
    assert chk.rc == 1, chk.out + chk.err
    assert (f"models/m.dsl: the record {Path(RECORD)} was edited after `prove --record` wrote it: its content does "
            "not match its record_sha256") in chk.out
    assert line in chk.out, chk.out
    assert "note:" not in chk.out.split("\n")[0]
    validate_junit(project / "j.xml")
    assert '<testcase name="ledger record"' in (project / "j.xml").read_text()
    assert any(r["ruleId"] == "gate" for r in validate_sarif(project / "s.sarif")["runs"][0]["results"])


def test_a_record_without_its_seal_fails(project: Path) -> None:
    m = recorded(project)
    record = project / RECORD
    data = json.loads(record.read_text())
    del data["record_sha256"]
    record.write_text(json.dumps(data))
    chk = run("check", m)
    assert chk.rc == 1 and "its content has no record_sha256" in chk.out


def test_re_recording_an_edited_record_seals_it_again(project: Path) -> None:
    m = recorded(project)
    record = project / RECORD
    record.write_text(record.read_text().replace('"tool_version": "', '"tool_version": "edited '))
    rec = run("prove", "--record", "--no-traces", m)
    assert "the old record had been edited by hand" in rec.err
    assert run("check", m).rc == 0


BOUND3 = "bound 3;\n" + dedent(PROVED)


def test_a_record_with_a_lower_bound_than_the_model_fails(project: Path) -> None:
    m = recorded(project, BOUND3)
    edit_record(project / RECORD, lambda data: data.update(bound=2))   # sealed: only the bound is lower
    chk = run("check", m)
    assert chk.rc == 1, chk.out + chk.err
    assert ("models/m.dsl: the record checks bound 2, below the model's own bound 3: a weaker proof than the "
            "model claims") in chk.out
    assert "re-record: objcg-prove prove --record --bound 3 models/m.dsl" in chk.out   # what --record accepts


def test_raising_the_models_bound_after_recording_fails_until_re_recorded(project: Path) -> None:
    m = recorded(project, PROVED)            # recorded at the default bound 2
    write(project, BOUND3)
    chk = run("check", m)
    assert chk.rc == 1 and "below the model's own bound 3" in chk.out


def test_recording_below_the_models_bound_is_refused_before_solving(project: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    m = write(project, BOUND3)
    calls = solver_calls(monkeypatch)
    monkeypatch.setattr(gate, "verify_models", lambda *a, **k: calls.append(["solved"]))  # type: ignore[func-returns-value]
    rec = run("prove", "--record", "--bound", "2", m)
    assert rec.rc == 2 and calls == []
    assert "--bound 2 is below the model's own bound 3" in rec.err
    assert not (project / RECORD).exists()


def test_a_record_copied_from_another_model_is_bad_input(project: Path) -> None:
    a, b = write(project, PROVED, "models/a.dsl"), write(project, PROVED, "models/b.dsl")
    run("prove", "--record", a)
    (project / "proofs/models/b.dsl.json").write_text((project / "proofs/models/a.dsl.json").read_text())
    chk = run("check", b)
    assert chk.rc == 2
    assert "this record is for 'models/a.dsl', not for 'models/b.dsl'" in chk.err
    assert f"{Path('proofs/models/b.dsl.json')}:" in chk.err


# ---- ledger records that cannot be read: exit 2, the file and where in it ----------------------------


def _replace(old: str, new: str) -> Any:
    return lambda text: text.replace(old, new, 1)


MALFORMED = [
    # (what is changed in the record's text, what the message says, where: line of the key)
    ("nested", lambda t: "[" * 100_000, "1:101: malformed ledger record: nested too deeply", None),
    ("bound string", _replace('"bound": 2', '"bound": "x"'), "'bound' is 'x', expected an integer", '"bound"'),
    ("bound 1e999", _replace('"bound": 2', '"bound": 1e999'), "'bound' is inf, expected an integer", '"bound"'),
    ("bound true", _replace('"bound": 2', '"bound": true'), "'bound' is True, expected an integer", '"bound"'),
    ("bound NaN", _replace('"bound": 2', '"bound": NaN'), "'bound' is nan, expected an integer", '"bound"'),
    ("bound 5000 digits", _replace('"bound": 2', '"bound": 1' + "0" * 5000), "malformed ledger record: Exceeds",
     "10000000"),
    ("properties as a dict", _replace('"properties": [', '"properties": {"x": ['),
     None, None),   # invalid JSON then: the decoder's own line:column
    ("properties null", lambda t: t[:t.index('"properties": [')] + '"properties": null,' +
     t[t.index('"record_sha256"'):], "'properties' is None, expected a list", '"properties"'),
    ("a null property", _replace('"properties": [', '"properties": [null, '),
     "properties[0] must be a JSON object, not None", "null, "),
    ("a null param", _replace('"params": {}', '"params": {"ALLOCS": null}'),
     "param 'ALLOCS' is None, expected an integer", '"ALLOCS"'),
    ("a null name", _replace('"name": "uaf"', '"name": null'), "properties[0]: 'name' is None, expected a string",
     '"name": null'),
    ("a lone surrogate", _replace('"name": "uaf"', '"name": "\\ud800"'), "lone surrogate", '"name": "\\ud800"'),
    ("a duplicate key", _replace('"bound": 2', '"bound": 2, "bound": 1'), "the key 'bound' appears twice",
     None),
    ("an unknown key", _replace('"bound": 2', '"bound": 2, "Bound": 1'), "unknown key 'Bound'", None),
    ("sha256 not hex", _replace('"sha256": "', '"sha256": "zz'), "expected 64 lowercase hex digits", '"sha256"'),
    ("no files", lambda t: t[:t.index('"files": [')] + '"files": [],' + t[t.index('"format"'):],
     "'files' is empty", '"files"'),
    ("a param name that is not a name", _replace('"params": {}', '"params": {"A B": 1}'),
     "param name 'A B' is not a name", '"A B"'),
]


@pytest.mark.parametrize("change, phrase, key", [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_a_malformed_record_is_bad_input_with_its_place(project: Path, change: Any, phrase: str | None,
                                                         key: str | None) -> None:
    m = recorded(project)
    record = project / RECORD
    text = change(record.read_text())
    record.write_text(text)
    chk = run("check", "--json", "--junit", "j.xml", "--sarif", "s.sarif", m)
    assert chk.rc == 2, chk.out + chk.err
    no_traceback(chk)
    [message] = chk.json()["models"][0]["errors"]
    assert message.startswith(f"objcg-prove: error: {Path(RECORD)}:"), message
    if phrase is not None:
        assert phrase in message, message
    if key is not None:
        offset = text.index(key)
        line = text.count("\n", 0, offset) + 1
        column = offset - (text.rfind("\n", 0, offset) + 1) + 1
        assert message.startswith(f"objcg-prove: error: {Path(RECORD)}:{line}:{column}: "), message
    validate_junit(project / "j.xml")
    validate_sarif(project / "s.sarif")


def test_a_record_that_is_not_utf8_names_the_byte(project: Path) -> None:
    m = recorded(project)
    record = project / RECORD
    record.write_bytes(record.read_bytes().replace(b'"bound": 2', b'"bound": "\xff"'))
    chk = run("check", m)
    assert chk.rc == 2
    assert f"{Path(RECORD)}:2:13: malformed ledger record: not UTF-8 text (byte 0xff)" in chk.err, chk.err


@pytest.mark.parametrize("kind", ["directory", "fifo", "huge", "unreadable"])
def test_a_record_that_is_not_a_small_readable_file(project: Path, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    m = recorded(project)
    record = project / RECORD
    record.unlink()
    if kind == "directory":
        record.mkdir()
        phrase = "cannot read the ledger record: it is a directory"
    elif kind == "fifo":
        os.mkfifo(record)
        phrase = "cannot read the ledger record: it is not a regular file"
    elif kind == "huge":
        record.write_text(" " * (ledger.MAX_RECORD_BYTES + 1) + "{}")
        phrase = f"cannot read the ledger record: it is {ledger.MAX_RECORD_BYTES + 3} bytes"
    else:
        record.write_text("{}")
        real_open = open

        def denied(file: Any, *args: Any, **kwargs: Any) -> Any:
            if str(file).endswith("m.dsl.json"):
                raise PermissionError(13, "Permission denied", str(file))
            return real_open(file, *args, **kwargs)
        monkeypatch.setattr(ledger, "open", denied, raising=False)   # tests run as root, so chmod would not do
        phrase = "cannot read the ledger record: Permission denied"
    chk = run("check", m)
    assert chk.rc == 2
    assert f"{Path(RECORD)}: {phrase}" in chk.err, chk.err
    no_traceback(chk)


# ---- diagnostics of a record's bound and -D values blame the record -------------------------------


def test_a_records_bound_the_model_refuses_is_blamed_on_the_record(project: Path) -> None:
    m = recorded(project, PROVED)
    edit_record(project / RECORD, lambda data: data.update(bound=99))
    chk = run("check", m)
    assert chk.rc == 2
    text = (project / RECORD).read_text()
    line = text[:text.index('"bound"')].count("\n") + 1
    assert f"{Path(RECORD)}:{line}:3: error: the bound 99 is larger than the maximum 64" in chk.err, chk.err
    assert "<command line>" not in chk.err
    assert '  "bound": 99,' in chk.err                     # the record's line, with a caret under the key


def test_a_records_unknown_param_is_blamed_on_the_record(project: Path) -> None:
    m = recorded(project, PROVED)
    edit_record(project / RECORD, lambda data: data.update(params={"FOO": 3}))
    chk = run("check", m)
    assert chk.rc == 2
    text = (project / RECORD).read_text()
    offset = text.index('"FOO"')
    line, column = text[:offset].count("\n") + 1, offset - text.rfind("\n", 0, offset)
    [head] = [x for x in chk.err.splitlines() if "FOO" in x and "error:" in x]
    assert head.startswith(f"{Path(RECORD)}:{line}:{column}: error: "), chk.err
    assert "<command line>" not in chk.err


# ---- output files: valid on every outcome ------------------------------------------------------------


CONTROL = 'shared word x = 1;\nthread A { assert(x == 0, "lab\x01\x0b<]]>&\x1f"); }\n'


def test_junit_with_control_characters_in_a_label_is_valid_xml(project: Path) -> None:
    (project / "models/m.dsl").write_text(CONTROL)
    run("prove", "--record", "models/m.dsl")
    (project / "models/m.dsl").write_text(CONTROL.replace("x == 0", "x == 1"))  # now proved: a failure
    chk = run("check", "--junit", "j.xml", "--sarif", "s.sarif", "--json", "models/m.dsl")
    assert chk.rc == 1
    tree = ET.parse(project / "j.xml")                 # well-formed XML 1.0
    validate_junit(project / "j.xml")
    names = [case.get("name") for case in tree.iter("testcase")]
    assert "lab\\x01\\x0b<]]>&\\x1f" in names, names
    [failure] = list(tree.iter("failure"))
    assert "\\x01" in (failure.get("message") or "") and "\x01" not in (failure.text or "")
    validate_sarif(project / "s.sarif")
    assert any("lab\x01\x0b" in f["message"] for f in chk.json()["models"][0]["findings"])


def test_an_internal_error_is_one_line_exit_4_and_every_output_says_so(project: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    m = recorded(project)
    monkeypatch.setattr(gate, "verify_models", raising(RuntimeError("something inside the prover broke\nsecond line")))
    chk = run("check", "--no-cache", "--json", "--junit", "j.xml", "--sarif", "s.sarif", m)
    assert chk.rc == 4
    assert chk.err == f"objcg-prove: internal error: {m}: RuntimeError: something inside the prover broke second line\n"
    model = chk.json()["models"][0]
    assert model["status"] == "internal" and model["internal_errors"]
    validate_junit(project / "j.xml")
    assert 'type="internal"' in (project / "j.xml").read_text()
    assert validate_sarif(project / "s.sarif")["runs"][0]["results"][0]["ruleId"] == "gate"


def test_an_internal_error_outside_any_model_still_writes_every_output(project: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    m = recorded(project)
    monkeypatch.setattr(gate, "_model_text", raising(ValueError("the report broke")))
    chk = run("check", "--json", "--junit", "j.xml", "--sarif", "s.sarif", m)
    assert chk.rc == 4
    assert chk.err == f"objcg-prove: internal error: {m}: ValueError: the report broke\n"
    assert chk.json()["errors"] == [f"internal error: {m}: ValueError: the report broke"]
    validate_junit(project / "j.xml")
    validate_sarif(project / "s.sarif")


def test_a_fault_while_rendering_a_report_writes_the_error_reports_instead(project: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    m = recorded(project)
    real = gate.junit_xml

    def junit_xml(checks: list[Any], errors: Any = ()) -> str:
        if checks:
            raise KeyError("a bug in the JUnit writer")
        return real(checks, errors)
    monkeypatch.setattr(gate, "junit_xml", junit_xml)
    chk = run("check", "--json", "--junit", "j.xml", "--sarif", "s.sarif", m)
    assert chk.rc == 4 and "KeyError" in chk.err
    assert chk.json()["models"] == [] and chk.json()["errors"]     # one JSON document, the error one
    validate_junit(project / "j.xml")
    validate_sarif(project / "s.sarif")


def test_a_failed_worker_is_an_internal_error_never_a_pass(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    m = recorded(project)

    def dead_worker(paths: list[str], options: Any, jobs: int = 1, progress: Any = None,
                    scheduler: Any = None, log: bool = False) -> list[ModelOutcome]:
        return [ModelOutcome(p, options, SourceCache(), worker_errors=[f"checking leak of {p}: a worker died"])
                for p in paths]
    monkeypatch.setattr(gate, "verify_models", dead_worker)
    chk = run("check", "--no-cache", "--json", m)
    assert chk.rc == 4, chk.out
    assert chk.json()["models"][0]["status"] == "internal"
    assert "internal error: checking leak of models/m.dsl: a worker died" in chk.err


def test_a_usage_error_with_json_prints_a_json_error(project: Path) -> None:
    m = recorded(project)
    chk = run("check", "--json", "--junit", "j.xml", "--jobs", "0", m)
    assert chk.rc == 2
    [error] = chk.json()["errors"]
    assert error.startswith("error: --jobs") and chk.json()["models"] == []
    validate_junit(project / "j.xml")


def test_bad_input_with_every_output(project: Path) -> None:
    m = write(project, PROVED)                  # no record
    chk = run("check", "--json", "--junit", "j.xml", "--sarif", "s.sarif", m, "models/nope.dsl")
    assert chk.rc == 2
    assert [x["status"] for x in chk.json()["models"]] == ["error", "error"]
    validate_junit(project / "j.xml")
    validate_sarif(project / "s.sarif")


def test_the_plain_provers_json_reports_an_internal_error(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    m = write(project, PROVED)

    def dead_worker(paths: list[str], options: Any, jobs: int = 1, progress: Any = None,
                    scheduler: Any = None, log: bool = False) -> list[ModelOutcome]:
        return [ModelOutcome(p, options, SourceCache(), worker_errors=["a worker died"]) for p in paths]
    monkeypatch.setattr(cli, "verify_models", dead_worker)
    r = run("--json", m)
    assert r.rc == 4
    assert r.json()["errors"][0]["message"] == "internal error: a worker died"


def test_an_output_that_cannot_be_written_names_itself_not_a_temporary_file(project: Path) -> None:
    m = recorded(project)
    (project / "out").mkdir()
    chk = run("check", "--junit", "out", m)
    assert chk.rc == 2
    assert "objcg-prove: error: cannot write out: " in chk.err and ".tmp" not in chk.err
    assert not [f for f in project.iterdir() if f.name.endswith(".tmp")]


@pytest.mark.parametrize("argv, phrase", [
    (["--junit", "models/m.dsl"], "--junit models/m.dsl is the model models/m.dsl: it would be overwritten"),
    (["--sarif", RECORD], f"--sarif {RECORD} is the ledger record of models/m.dsl: it would be overwritten"),
    (["--junit", "r.xml", "--sarif", "./r.xml"], "--sarif ./r.xml is the file of --junit: it would be overwritten"),
])
def test_an_output_never_overwrites_a_model_or_record(project: Path, argv: list[str], phrase: str) -> None:
    m = recorded(project)
    before = {f: (project / f).read_bytes() for f in (m, RECORD)}
    chk = run("check", *argv, m)
    assert chk.rc == 2 and phrase in chk.err, chk.err
    assert {f: (project / f).read_bytes() for f in (m, RECORD)} == before


# ---- files written whole, with the umask's mode ------------------------------------------------------


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_get_the_mode_the_umask_gives(project: Path, umask: int, mode: int) -> None:
    m = recorded(project)
    old = os.umask(umask)
    try:
        (project / RECORD).unlink()
        run("prove", "--record", "--no-traces", m)
        chk = run("check", "--cache-dir", "c", "--junit", "j.xml", "--sarif", "s.sarif", m)
    finally:
        os.umask(old)
    assert chk.rc == 0, chk.err
    for file in (project / RECORD, project / "j.xml", project / "s.sarif", cache_entry(project)):
        assert stat.S_IMODE(file.stat().st_mode) == mode, (file, oct(file.stat().st_mode))


def test_a_rewritten_file_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "report.xml"
    target.write_text("old")
    target.chmod(0o640)
    write_atomically(target, "new")
    assert target.read_text() == "new" and stat.S_IMODE(target.stat().st_mode) == 0o640


@pytest.mark.parametrize("fault", [KeyboardInterrupt, OSError])
def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   fault: type[BaseException]) -> None:
    target = tmp_path / "record.json"
    target.write_text("old")

    def interrupted(src: Any, dst: Any) -> None:
        raise fault()
    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(fault):
        write_atomically(target, "new")
    assert target.read_text() == "old"
    assert [f.name for f in tmp_path.iterdir()] == ["record.json"]


def test_a_write_that_fails_halfway_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "record.json"
    target.write_text("old")
    with pytest.raises(UnicodeEncodeError):
        write_atomically(target, "x" * 100_000 + "\ud800")   # fails while writing
    assert target.read_text() == "old"
    assert [f.name for f in tmp_path.iterdir()] == ["record.json"]


# ---- prove --record never replaces what is not a record ------------------------------------------------


def test_a_record_path_that_is_a_symlink_to_a_user_file_is_refused(project: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    m = write(project, PROVED)
    notes = project / "notes.txt"
    notes.write_text("my notes\n")
    (project / "proofs/models").mkdir(parents=True)
    (project / RECORD).symlink_to(notes)
    calls = solver_calls(monkeypatch)
    rec = run("prove", "--record", m)
    assert rec.rc == 2 and calls == []
    assert f"{Path(RECORD)} (a symlink to {notes}): not recorded: it exists and is not a ledger record" in rec.err
    assert notes.read_text() == "my notes\n" and (project / RECORD).is_symlink()


def test_a_record_path_that_is_a_user_file_is_refused(project: Path) -> None:
    m = write(project, PROVED)
    (project / "proofs/models").mkdir(parents=True)
    (project / RECORD).write_text("not a record\n")
    rec = run("prove", "--record", m)
    assert rec.rc == 2 and "not recorded: it exists and is not a ledger record" in rec.err
    assert (project / RECORD).read_text() == "not a record\n"


@pytest.mark.parametrize("kind", ["directory", "fifo", "dangling symlink"])
def test_a_record_path_that_is_no_file_is_refused(project: Path, kind: str) -> None:
    m = write(project, PROVED)
    (project / "proofs/models").mkdir(parents=True)
    target = project / RECORD
    if kind == "directory":
        target.mkdir()
    elif kind == "fifo":
        os.mkfifo(target)
    else:
        target.symlink_to(project / "nowhere.json")
    rec = run("prove", "--record", m)
    assert rec.rc == 2 and f"{Path(RECORD)}" in rec.err and "not recorded" in rec.err, rec.err
    no_traceback(rec)
    assert not (project / "nowhere.json").exists()


def test_a_symlink_to_a_record_is_written_through(project: Path) -> None:
    m = write(project, PROVED)
    shared = project / "shared" / "m.dsl.json"
    run("prove", "--record", "--ledger", "proofs", m)
    shared.parent.mkdir()
    (project / RECORD).rename(shared)
    (project / RECORD).symlink_to(shared)
    write(project, VIOLATED)
    rec = run("prove", "--record", "--no-traces", m)
    assert rec.rc == 1 and "re-recorded" in rec.err
    assert (project / RECORD).is_symlink() and '"status": "violated"' in shared.read_text()


def test_a_malformed_record_is_replaced(project: Path) -> None:
    m = recorded(project, PROVED)
    record = project / RECORD
    record.write_text(record.read_text()[:200])       # a damaged record (the ledger's format is in it)
    rec = run("prove", "--record", m)
    assert rec.rc == 0 and "replaced a malformed record" in rec.err
    assert run("check", m).rc == 0


def test_a_model_that_is_not_utf8_is_shown_with_its_caret_line_by_check(project: Path) -> None:
    # check once printed the location of the bad byte but no source line under it
    m = recorded(project)
    path = project / m
    path.write_bytes(path.read_bytes().replace(b"thread", b"thr\xffead", 1))
    chk = run("check", "--no-cache", m)
    assert chk.rc == 2, chk.err
    no_traceback(chk)
    lines = chk.err.splitlines()
    head = next(i for i, text in enumerate(lines) if "not UTF-8 text (byte 0xff)" in text)
    assert lines[head + 1].startswith("    ") and "thr\ufffdead" in lines[head + 1]
    assert lines[head + 2].strip() == "^"
