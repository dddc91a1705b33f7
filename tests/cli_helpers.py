"""Helpers shared by the command-line tests of several stages (cli/, gate/, runner/, oracles/):
four small models whose verdicts are known, the shape of `--json` output (and the JSON Schemas
the package ships, objcg_proof/schemas/), and running the command line in-process, and writing a
model into a temporary project (the fixture `project` of conftest.py: models/ beside proofs/, the
current directory).
"""

from __future__ import annotations

import io
import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from conftest import KINDS, STATUSES, CliRun, dedent
from objcg_proof.cli.dispatch import main

# every property proved
PROVED = """
shared word n = 0;
thread A { atomic_inc(&n); }
thread B {
  atomic_inc(&n);
  await(n == 2);
  word c = n;
  assert(c == 2, "count");
}
"""

# `count` violated (8 steps at the shortest): a lost update
VIOLATED = """
shared word n = 0;
ghost word done = 0;
thread A { word t = n; n = t + 1; atomic { done = done + 1; } }
thread B {
  word t = n;
  n = t + 1;
  atomic { done = done + 1; }
  await(done == 2);
  word c = n;
  assert(c == 2, "count");
}
"""

# A leaks o when it read flag == 1, which B wrote; B's later writes and C's write touch `other`,
# which nothing reads: those steps cannot matter to the leak.
LEAKY = """refcounted struct obj {
    word data;
};
object struct obj o = { .data = 0 };
shared word flag = 0;
shared word other = 0;
thread A {
    word f = flag;
    if (f)
        get(&o);
    put(&o);
}
thread B {
    flag = 1;
    other = 1;
    other = 2;
}
thread C {
    other = 3;
}
"""

# a spin loop: proved only up to the bound
# a wait loop that counts its rounds (a ghost write): not a spin loop, so the bound applies
BOUNDED = """
shared word flag = 0;
ghost word rounds = 0;
thread A {
  while (READ_ONCE(flag) == 0) { rounds++; }
  word f = flag;
  assert(f == 1, "seen");
}
thread B { WRITE_ONCE(flag, 1); }
"""

# absent values are null, never "" (NOTE(json-schemas) in objcg_proof/cli/report.py)
OPTIONAL_TEXT = (str, type(None))
RESULT_KEYS = {"model": str, "property": str, "kind": str, "status": str, "bound": int, "bound_covered": OPTIONAL_TEXT,
               "reason": OPTIONAL_TEXT, "time_s": float}
STEP_KEYS = {"step": int, "thread": str, "file": str, "line": int, "text": str, "c": OPTIONAL_TEXT, "changes": list}


def json_schema(name: str) -> dict[str, Any]:
    """objcg_proof/schemas/NAME.schema.json, read as the package ships it (package data)."""
    text = resources.files("objcg_proof").joinpath("schemas", f"{name}.schema.json").read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def validate_json(name: str, doc: Any) -> None:
    """`doc` is valid against NAME.schema.json (draft 2020-12); raises jsonschema.ValidationError."""
    jsonschema.Draft202012Validator(json_schema(name), format_checker=jsonschema.FormatChecker()).validate(doc)


def check_json_shape(doc):
    validate_json("prove", doc)
    assert list(doc) == ["schema_version", "results", "models", "errors"]
    assert isinstance(doc["results"], list) and isinstance(doc["models"], list) and isinstance(doc["errors"], list)
    for row in doc["results"]:
        assert set(row) == set(RESULT_KEYS) | {"violation", "shortest", "replayed", "not_replayed", "trace"}
        for key, typ in RESULT_KEYS.items():
            assert isinstance(row[key], typ) or (typ is float and isinstance(row[key], int)), (key, row[key])
        assert row["kind"] in KINDS and row["status"] in STATUSES
        assert isinstance(row["trace"], list)
        if row["status"] == "violated":
            assert isinstance(row["violation"], str) and row["violation"]
            assert isinstance(row["shortest"], bool) and isinstance(row["replayed"], bool)
            assert (row["not_replayed"] is None) == row["replayed"]
            assert row["trace"] or row["kind"] != "assert"
        else:
            assert row["violation"] is None and row["shortest"] is None and row["trace"] == []
            assert row["replayed"] is None and row["not_replayed"] is None
        assert (row["reason"] is not None) == (row["status"] == "unknown")
        for i, step in enumerate(row["trace"], 1):
            assert set(step) == set(STEP_KEYS)
            for key, typ in STEP_KEYS.items():
                assert isinstance(step[key], typ), (key, step[key])
            assert step["step"] == i
            assert all(isinstance(c, str) for c in step["changes"])
    for m in doc["models"]:
        assert isinstance(m["model"], str) and isinstance(m["bound"], int)
    for e in doc["errors"]:
        assert set(e) == {"model", "file", "line", "column", "message"}


def run(*argv: str) -> CliRun:
    out, err = io.StringIO(), io.StringIO()
    rc = main(list(argv), out, err)
    return CliRun(rc, out.getvalue(), err.getvalue())


def no_traceback(r: CliRun) -> None:
    assert "Traceback" not in r.out and "Traceback" not in r.err


def write(project: Path, text: str, name: str = "models/m.dsl") -> str:
    path = project / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dedent(text), encoding="utf-8")
    return name
