"""Every JSON document the tool writes, validated against the JSON Schema it ships
(objcg_proof/schemas/, draft 2020-12; NOTE(json-schemas) in objcg_proof/cli/report.py).

Each command's `--json` output is validated on several outcomes (proved, bounded, violated and
unknown verdicts, an LKMM counterexample, bad input, a bad command line, an internal error), and
every ledger record under proofs/ against record.schema.json. Every document must also begin with `schema_version` and hold no empty
string anywhere (absent values are null), so the null rule cannot come back unnoticed.
"""

from __future__ import annotations

import fnmatch
import importlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from cli_helpers import BOUNDED, PROVED, VIOLATED, json_schema as schema, run, validate_json, write
from conftest import CliRun, dedent
from objcg_proof.cli import dispatch, gate
from objcg_proof.lang.diagnostics import SourceCache
from objcg_proof.runner.batch import ModelOutcome

ROOT = Path(__file__).resolve().parents[2]
COUNTER = str(ROOT / "models" / "examples" / "counter.dsl")        # C lines on some steps, none on others
PETERSON = str(ROOT / "models" / "examples" / "peterson.dsl")
PETERSON_BROKEN = str(ROOT / "models" / "examples" / "peterson_broken.dsl")
SCHEMA_NAMES = ("prove", "check", "compare", "mutate", "litmus", "drift", "record")
DRAFT = "https://json-schema.org/draft/2020-12/schema"

# the module that writes each command's document, holding its JSON_SCHEMA_VERSION
WRITERS = {"prove": "objcg_proof.cli.report", "check": "objcg_proof.gate.reports",
           "compare": "objcg_proof.study.compare", "mutate": "objcg_proof.study.mutate",
           "litmus": "objcg_proof.cli.litmus", "drift": "objcg_proof.cli.drift"}


def empty_strings(value: Any, at: str = "$") -> list[str]:
    """Where in a JSON value an empty string stands (as a value or a key)."""
    if value == "":
        return [at]
    if isinstance(value, dict):
        return [f"{at} (a key)" for k in value if k == ""] + \
            [p for k, v in value.items() for p in empty_strings(v, f"{at}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in empty_strings(v, f"{at}[{i}]")]
    return []


def valid(name: str, text: str) -> dict[str, Any]:
    """The document `text`, checked: valid against NAME.schema.json, `schema_version` its first
    key, and no empty string in it."""
    doc = json.loads(text)
    validate_json(name, doc)
    assert next(iter(doc)) == "schema_version", list(doc)
    assert empty_strings(doc) == [], empty_strings(doc)
    return doc  # type: ignore[no-any-return]


def rows(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["property"]: r for r in doc["results"]}


# ---- the schemas themselves -------------------------------------------------------------------


def _objects(node: Any, at: str = "#") -> list[tuple[str, dict[str, Any]]]:
    """Every subschema that declares an object's properties (not the conditions of if/then/else)."""
    found = []
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node:
            found.append((at, node))
        for key, sub in node.items():
            found += _objects(sub, f"{at}/{key}")
    elif isinstance(node, list):
        for i, sub in enumerate(node):
            found += _objects(sub, f"{at}/{i}")
    return found


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_each_schema_is_draft_2020_12_with_an_id_a_title_and_closed_objects(name: str) -> None:
    s = schema(name)
    jsonschema.Draft202012Validator.check_schema(s)
    assert s["$schema"] == DRAFT
    assert s["$id"] == f"urn:objcg-prove:schema:{name}:1" and s["title"] and s["description"]
    objects = _objects(s)
    assert objects
    for at, obj in objects:
        assert obj.get("additionalProperties") is False, f"{name}.schema.json {at}: not closed"
        assert all("description" in p or "$ref" in p for p in obj["properties"].values()), at


def test_the_schema_files_are_exactly_the_shipped_ones_and_package_data() -> None:
    shipped = sorted(p.name for p in resources.files("objcg_proof").joinpath("schemas").iterdir()
                     if p.name.endswith(".json"))
    assert shipped == sorted(f"{n}.schema.json" for n in SCHEMA_NAMES)
    tomllib = pytest.importorskip("tomllib")
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert "objcg_proof.schemas" in setuptools["packages"]       # else setuptools warns, and may drop it
    globs = setuptools["package-data"]["objcg_proof.schemas"]
    assert all(any(fnmatch.fnmatch(name, g) for g in globs) for name in shipped)


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_each_writer_writes_the_version_its_schema_describes(name: str) -> None:
    assert importlib.import_module(WRITERS[name]).JSON_SCHEMA_VERSION == \
        schema(name)["properties"]["schema_version"]["const"]


def test_check_holds_the_result_rows_of_prove() -> None:
    # copied so that each schema stands alone: the copies must not drift apart
    assert schema("check")["$defs"]["result"] == schema("prove")["$defs"]["result"]
    assert schema("check")["$defs"]["step"] == schema("prove")["$defs"]["step"]


def test_an_empty_string_or_a_missing_version_is_caught() -> None:
    doc = json.loads(run("--json", COUNTER).out)
    doc["results"][0]["reason"] = ""
    assert empty_strings(doc) == ["$.results[0].reason"]
    validator = jsonschema.Draft202012Validator(schema("prove"))
    assert not validator.is_valid(doc)
    doc["results"][0]["reason"] = None
    assert validator.is_valid(doc)
    del doc["schema_version"]
    assert not validator.is_valid(doc)


# ---- prove --json --------------------------------------------------------------------------------


def test_prove_proved_and_violated_with_and_without_c_lines() -> None:
    r = run("--json", COUNTER)
    assert r.rc == 1, r.err
    doc = valid("prove", r.out)
    got = rows(doc)
    assert got["uaf"]["status"] == "proved" and got["uaf"]["reason"] is None
    assert got["uaf"]["bound_covered"] == "the bound 2 covered every execution"
    plain = got["plain_is_2"]
    assert plain["status"] == "violated" and plain["reason"] is None
    cs = [step["c"] for step in plain["trace"]]
    assert "plain++;  (the load ...)" in cs and None in cs      # a step whose line has no `// C` comment


def test_prove_bounded_and_several_models(models) -> None:  # type: ignore[no-untyped-def]
    models.write(BOUNDED, "bounded.dsl")
    models.write(PROVED, "proved.dsl")
    r = models.cli("--json", "bounded.dsl", "proved.dsl")
    assert r.rc == 3, r.err
    doc = valid("prove", r.out)
    assert {(x["model"], x["status"]) for x in doc["results"]} >= {("bounded.dsl", "bounded"), ("proved.dsl", "proved")}


def test_prove_unknown_has_a_reason(models) -> None:  # type: ignore[no-untyped-def]
    r = models.run(PROVED, "--json", "--rlimit", "1")
    doc = valid("prove", r.out)
    unknown = [x for x in doc["results"] if x["status"] == "unknown"]
    assert unknown and all(x["reason"] for x in unknown)


def test_prove_an_lkmm_counterexample_has_its_memory_order(tmp_path: Path) -> None:
    # message passing without a barrier (tests/prove/test_lkmm_models.py)
    model = tmp_path / "mp.dsl"
    model.write_text("shared int data;\nshared int flag;\n"
                     "thread P0 {\n    WRITE_ONCE(data, 1);\n    WRITE_ONCE(flag, 1);\n}\n"
                     "thread P1 {\n    int f = READ_ONCE(flag);\n    int d = READ_ONCE(data);\n"
                     "    assert(f == 0 || d == 1, \"mp\");\n}\n")
    r = run("--json", "--memory-model", "lkmm", str(model))
    assert r.rc == 1, r.err
    doc = valid("prove", r.out)
    mp = rows(doc)["mp"]
    assert mp["status"] == "violated" and mp["memory_order"] and mp["replayed"] is False and mp["not_replayed"]
    assert doc["models"][0]["memory_model"] == "lkmm"


def test_prove_bad_input_document(models) -> None:  # type: ignore[no-untyped-def]
    models.write(PROVED, "good.dsl")
    models.write("thread T { word v = nope; }\n", "bad.dsl")
    r = models.cli("--json", "good.dsl", "bad.dsl", "missing.dsl")
    assert r.rc == 2
    doc = valid("prove", r.out)
    assert [e["model"] for e in doc["errors"]] == ["bad.dsl", "missing.dsl"]
    assert {x["model"] for x in doc["results"]} == {"good.dsl"}


@pytest.mark.parametrize("argv", [
    ["--json", "--jobs", "none", "m.dsl"],               # the command line cannot be parsed
    ["prove", "--json", "--property", "nope", "m.dsl"],  # a property no model has
])
def test_prove_usage_error_document(models, argv: list[str]) -> None:  # type: ignore[no-untyped-def]
    models.write(PROVED)
    r = models.cli(*argv)
    assert r.rc == 2
    doc = valid("prove", r.out)
    assert doc["errors"] and doc["errors"][-1]["file"] == "<command line>"


def _raises(exc: Exception):  # type: ignore[no-untyped-def]
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise exc
    return broken


def test_prove_internal_error_documents(models, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    models.write(PROVED)

    def dead_worker(paths: list[str], options: Any, **kwargs: Any) -> list[ModelOutcome]:
        return [ModelOutcome(p, options, SourceCache(), worker_errors=["a worker died"]) for p in paths]
    monkeypatch.setattr(dispatch, "verify_models", dead_worker)          # one property's internal error
    r = models.cli("--json", "m.dsl")
    assert r.rc == 4 and valid("prove", r.out)["errors"][0]["message"] == "internal error: a worker died"
    monkeypatch.setattr(dispatch, "verify_models", _raises(RuntimeError("the prover broke")))   # a tool bug
    r = models.cli("--json", "m.dsl")
    assert r.rc == 4 and "RuntimeError: the prover broke" in valid("prove", r.out)["errors"][0]["message"]


# ---- check --json --------------------------------------------------------------------------------


def _check(*argv: str) -> tuple[CliRun, dict[str, Any]]:
    r = run("check", "--json", *argv)
    return r, valid("check", r.out)


def test_check_pass_fail_notes_and_a_missing_record(project: Path) -> None:
    m = write(project, VIOLATED)
    assert run("prove", "--record", m).rc == 1
    r, doc = _check(m)
    assert r.rc == 0 and doc["models"][0]["status"] == "pass" and doc["models"][0]["record"] == "proofs/models/m.dsl.json"
    assert rows(doc)["count"]["status"] == "violated"
    # a comment changes the hash, not the verdicts: a note about the model as a whole
    (project / m).write_text("// a comment\n" + dedent(VIOLATED))
    r, doc = _check(m)
    assert r.rc == 0 and [f["property"] for f in doc["models"][0]["findings"]] == [None]
    write(project, PROVED)
    r, doc = _check(m)
    assert r.rc == 1 and doc["models"][0]["status"] == "fail"
    assert "count" in [f["property"] for f in doc["models"][0]["findings"]]
    other = write(project, PROVED, "models/other.dsl")
    r, doc = _check(other)
    assert r.rc == 2 and doc["models"][0]["status"] == "error" and doc["models"][0]["errors"]


def test_check_a_model_without_a_record_path(project: Path) -> None:
    # the ledger's parent is the project root: a model outside it has no record path
    m = write(project, PROVED)
    r, doc = _check("--ledger", "sub/proofs", m)
    assert r.rc == 2 and doc["models"][0]["record"] is None and doc["models"][0]["status"] == "error"


def test_check_usage_error_document(project: Path) -> None:
    m = write(project, PROVED)
    r, doc = _check("--jobs", "none", m)
    assert r.rc == 2 and doc["models"] == [] and doc["errors"]


def test_check_internal_error_documents(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    m = write(project, PROVED)
    run("prove", "--record", m)
    monkeypatch.setattr(gate, "verify_models", _raises(RuntimeError("the prover broke")))   # inside one model
    r, doc = _check("--no-cache", m)
    assert r.rc == 4 and doc["models"][0]["status"] == "internal" and doc["models"][0]["internal_errors"]
    monkeypatch.setattr(gate, "_model_text", _raises(ValueError("the report broke")))      # outside any model
    r, doc = _check("--no-cache", m)
    assert r.rc == 4 and doc["models"] == [] and doc["errors"][0].startswith("internal error:")


# ---- the ledger's records ------------------------------------------------------------------------


RECORDS = sorted((ROOT / "proofs").rglob("*.json"))


@pytest.mark.parametrize("record", RECORDS, ids=[str(p.relative_to(ROOT)) for p in RECORDS])
def test_every_shipped_record(record: Path) -> None:
    validate_json("record", json.loads(record.read_text(encoding="utf-8")))


def test_there_are_shipped_records_of_both_memory_models() -> None:
    assert len(RECORDS) >= 2 and any(p.name.endswith(".lkmm.json") for p in RECORDS)


def test_a_fresh_record(project: Path) -> None:
    m = write(project, VIOLATED)
    run("prove", "--record", m)
    data = json.loads((project / "proofs" / "models" / "m.dsl.json").read_text(encoding="utf-8"))
    validate_json("record", data)
    data["properties"][0]["trace_steps"] = 3        # a proved property with a counterexample's length
    assert not jsonschema.Draft202012Validator(schema("record")).is_valid(data)


# ---- compare, mutate, litmus ---------------------------------------------------------------------


def test_compare() -> None:
    r = run("compare", "--json", PETERSON, PETERSON_BROKEN)
    assert r.rc == 1, r.err
    doc = valid("compare", r.out)
    assert doc["disagreements"] and {row["design"] for row in doc["rows"]} == {"peterson", "peterson_broken"}
    r = run("compare", "--json", "--rlimit", "1", PETERSON)     # the solver gives up: unknown, with a reason
    assert r.rc == 3, r.err
    verdicts = valid("compare", r.out)["rows"][0]["properties"].values()
    assert any(v["status"] == "unknown" and v["reason"] and v["coverage"] is None for v in verdicts)


def test_compare_bad_input_document() -> None:
    r = run("compare", "--json", "-D", "BAD=0,1", PETERSON)
    assert r.rc == 2
    assert valid("compare", r.out)["bad_input"] is True


# one mutant killed (the non-atomic test-and-set), one surviving (the unobservable swap): from
# tests/study/test_mutate.py
MUTANTS = """
shared word lock = 0, x = 0, y = 0;
ghost word in_cs = 0, done = 0;

proc void enter(void) {
    word old = xchg(&lock, 1);
    if (old == 0) {
        in_cs++;
        assert(in_cs == 1, "mutex");
        in_cs--;
        WRITE_ONCE(lock, 0);
    }
}

thread A { enter(); }
thread B { enter(); }
thread C {
    WRITE_ONCE(x, 1);
    WRITE_ONCE(y, 1);
    done = 1;
}
thread D {
    await(done == 1);
    word vx = x;
    assert(vx == 1, "x");
}
"""

# the non-atomic xchg's temporary is a word, which `->` rejects: an invalid mutant
INVALID = """
struct obj { const word x; };
struct holder { struct obj *f; };
struct other { word f; };
object struct obj o;
object struct holder h = { .f = &o };
thread T {
    struct holder *p = &h;
    word v = xchg(&p->f, NULL)->x;
}
"""


def test_mutate_killed_survived_and_invalid(models) -> None:  # type: ignore[no-untyped-def]
    r = models.cli("mutate", "--json", "--limit", "2", models.write(MUTANTS))
    assert r.rc == 1, r.err
    doc = valid("mutate", r.out)
    killed, survived = doc["mutants"]
    assert (killed["outcome"], killed["error"], killed["evidence"]) == ("killed", None, None)
    assert survived["outcome"] == "survived" and survived["evidence"] and survived["error"] is None
    r = models.cli("mutate", "--json", "--only", "non-atomic", models.write(INVALID, "invalid.dsl"))
    assert r.rc == 0, r.err
    [invalid] = valid("mutate", r.out)["mutants"]
    assert invalid["outcome"] == "invalid" and invalid["error"].startswith("invalid.dsl:")


SB = ("C SB\n{}\nP0(int *x, int *y) { int r0; WRITE_ONCE(*x, 1); r0 = READ_ONCE(*y); }\n"
      "P1(int *x, int *y) { int r0; WRITE_ONCE(*y, 1); r0 = READ_ONCE(*x); }\nexists (0:r0=0 /\\ 1:r0=0)\n")
TRYLOCK = "C TL\n{}\nP0(spinlock_t *l, int *x) { int r0; r0 = spin_trylock(l); WRITE_ONCE(*x, 1); }\nexists (0:r0=1)\n"


def test_litmus_with_and_without_the_prover(tmp_path: Path) -> None:
    (tmp_path / "sb.litmus").write_text(SB, encoding="utf-8")
    (tmp_path / "tl.litmus").write_text(TRYLOCK, encoding="utf-8")     # the DSL cannot say spin_trylock
    r = run("litmus", "--json", str(tmp_path / "sb.litmus"))
    assert r.rc == 0, r.err
    assert valid("litmus", r.out)["results"][0]["verdict"] == "Sometimes"
    r = run("litmus", "--json", "--prover", str(tmp_path / "sb.litmus"), str(tmp_path / "tl.litmus"))
    assert r.rc == 0, r.err
    sb, tl = (x["prover"] for x in valid("litmus", r.out)["results"])
    assert sb["agrees"] is True and sb["why"] is None
    assert tl["verdict"] is None and "spin_trylock" in tl["why"]


def test_litmus_bad_input_still_writes_the_document(tmp_path: Path) -> None:
    (tmp_path / "bad.litmus").write_text("C bad\n{}\nP0(int *x) { WRITE_ONCE(*x, 1) }\nexists (x=1)\n", encoding="utf-8")
    (tmp_path / "sb.litmus").write_text(SB, encoding="utf-8")
    r = run("litmus", "--json", str(tmp_path))
    assert r.rc == 2
    assert [x["test"] for x in valid("litmus", r.out)["results"]] == ["SB"]


def test_drift_found_and_not_checked_and_bad_input(tmp_path: Path) -> None:
    (tmp_path / "mm").mkdir()
    (tmp_path / "mm" / "f.c").write_text("void f(void)\n{\n\ta();\n\tb();\n}\n")
    model = tmp_path / "m.dsl"
    model.write_text("shared word n = 0;\nproc void f(void) {\n    n = 1;  // a();\n}\n"
                     "proc void g(void) { n = 2; }\nthread A { f(); g(); }\n"
                     'mirrors "mm/f.c" { f; }\nmirrors "mm/g.c" reconstructed { g; }\n')
    r = run("drift", "--json", "--kernel-tree", str(tmp_path), str(model))
    doc = valid("drift", r.out)
    assert r.rc == 1 and [f["kind"] for f in doc["findings"]] == ["unmirrored"]
    assert [c["status"] for c in doc["checked"]] == ["checked", "not checked"] and doc["notes"]
    r = run("drift", "--json", "--kernel-tree", str(tmp_path / "none"), str(model))
    assert r.rc == 2 and valid("drift", r.out)["errors"]
    r = run("drift", "--json", str(model))
    assert r.rc == 2 and valid("drift", r.out)["errors"][0].startswith("usage: ")
