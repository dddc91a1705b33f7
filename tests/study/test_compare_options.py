"""`compare`'s --json, --no-traces and --rlimit, and a -D that some designs lack."""

from __future__ import annotations

import io
import json
from pathlib import Path

from objcg_proof.cli.dispatch import main

ROOT = Path(__file__).resolve().parents[2]
GOOD = str(ROOT / "models" / "examples" / "peterson.dsl")
BROKEN = str(ROOT / "models" / "examples" / "peterson_broken.dsl")   # violates mutual_exclusion


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(["compare", *argv], out, err)
    return status, out.getvalue(), err.getvalue()


def test_json_has_a_row_per_design_and_names_the_disagreement() -> None:
    status, out, _ = _run("--json", GOOD, BROKEN)
    assert status == 1
    report = json.loads(out)
    assert report["schema_version"] == 1
    rows = {r["design"]: r for r in report["rows"]}
    assert set(rows) == {"peterson", "peterson_broken"}
    bad = rows["peterson_broken"]["properties"]["mutual_exclusion"]
    good = rows["peterson"]["properties"]["mutual_exclusion"]
    assert bad["status"] == "violated" and bad["steps"] > 0 and bad["reason"] is None
    assert good["status"] == "proved" and good["steps"] is None and "covered every execution" in good["coverage"]
    assert rows["peterson"]["setting"] == {} and rows["peterson"]["memory_model"] == "sc"
    assert report["disagreements"] == [{"setting": {}, "property": "mutual_exclusion",
                                        "violated_by": ["peterson_broken"], "not_by": ["peterson"]}]


def test_no_traces_names_the_disagreement_without_the_execution() -> None:
    status, out, _ = _run("--no-traces", GOOD, BROKEN)
    assert status == 1
    assert "mutual_exclusion: violated by peterson_broken; not by peterson." in out
    assert "counterexample:" not in out and "The shortest execution" not in out
    _, full, _ = _run(GOOD, BROKEN)
    assert "The shortest execution of peterson_broken" in full and "counterexample:" in full


def test_rlimit_reaches_the_solver() -> None:
    status, out, _ = _run("--json", "--rlimit", "1", GOOD)
    statuses = {p["status"] for p in json.loads(out)["rows"][0]["properties"].values()}
    assert status == 3 and "unknown" in statuses


def test_a_param_only_some_designs_have_names_the_designs_that_lack_it() -> None:
    refcount = str(ROOT / "models" / "examples" / "refcount.dsl")   # has param BAD
    status, out, err = _run("--json", "-D", "BAD=0,1", refcount, GOOD)
    assert status == 2
    assert err.splitlines()[0] == f"{GOOD}: error: -D BAD: the model has no param named 'BAD' (its params: none)"
    assert refcount not in err
    assert json.loads(out)["bad_input"] is True
