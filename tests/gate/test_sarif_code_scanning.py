"""`objcg-prove check --sarif` as GitHub code scanning reads it: files relative to %SRCROOT%
(the directory the check runs in), a fingerprint per result, and rules with their help.

Two designs (models/a.dsl, models/b.dsl) include one harness whose assert both violate, so
their results sit on one harness line: the case in which results without fingerprints of their
own merge into one alert.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import unquote, urlsplit

import pytest

from cli_helpers import run, write
from objcg_proof.gate import reports
from test_gate import validate_sarif

ROOT = Path(__file__).resolve().parents[2]
KEY = "objcgProve/v1"

HARNESS = """
shared word n = 0;
ghost word done = 0;
thread A { step(); atomic { done = done + 1; } }
thread B {
  step();
  atomic { done = done + 1; }
  await(done == 2);
  word c = n;
  assert(c == 2, "count");
}
"""
ASSERT_LINE = 9   # of HARNESS, dedented
# two designs of step(), both racy: `count` is violated, at the harness's assert
DESIGN_A = 'include "harness.dsl";\nproc void step(void) { word t = n; n = t + 1; }\n'
DESIGN_B = 'include "harness.dsl";\nproc void step(void) {\n  word t = READ_ONCE(n);\n  WRITE_ONCE(n, t + 1);\n}\n'


@pytest.fixture
def designs(project: Path) -> Path:
    """models/a.dsl and models/b.dsl, recorded; models/c.dsl with no record (a gate result)."""
    write(project, HARNESS, "models/harness.dsl")
    write(project, DESIGN_A, "models/a.dsl")
    write(project, DESIGN_B, "models/b.dsl")
    write(project, DESIGN_A, "models/c.dsl")
    assert "assert(c == 2" in (project / "models/harness.dsl").read_text().splitlines()[ASSERT_LINE - 1]
    rec = run("prove", "--record", "models/a.dsl", "models/b.dsl")
    assert rec.rc == 1, rec.err          # violated, as the designs are meant to be
    return project


def check_sarif(*models: str, out: str = "s.sarif", status: int = 0) -> dict[str, Any]:
    """Run `check --no-cache --sarif` here (every model solved again), expecting `status`, and
    validate the file."""
    chk = run("check", "--no-cache", "--sarif", out, *models)
    assert chk.rc == status, chk.out + chk.err
    return validate_sarif(Path(out))


def artifact_locations(log: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every artifactLocation of the results: their locations and their code flows' steps."""
    for result in log["runs"][0]["results"]:
        for loc in result.get("locations", []):
            yield loc["physicalLocation"]["artifactLocation"]
        for flow in result.get("codeFlows", []):
            for thread in flow["threadFlows"]:
                for step in thread["locations"]:
                    yield step["location"]["physicalLocation"]["artifactLocation"]


def by_model(log: dict[str, Any], prop: str) -> dict[str, dict[str, Any]]:
    return {r["properties"]["model"]: r for r in log["runs"][0]["results"] if r["properties"].get("property") == prop}


def test_files_inside_the_check_directory_are_relative_to_srcroot(designs: Path) -> None:
    log = check_sarif("models/a.dsl", "models/b.dsl")
    run_ = log["runs"][0]
    base = run_["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert base == designs.as_uri() + "/" and base.endswith("/")
    seen = set()
    for artifact in artifact_locations(log):
        assert artifact["uriBaseId"] == "%SRCROOT%", artifact
        uri = artifact["uri"]
        assert not urlsplit(uri).scheme and not uri.startswith("/") and not uri.startswith("../"), uri
        assert (designs / unquote(uri)).is_file(), uri
        seen.add(uri)
    # the harness (the asserts' location) and both designs (their steps in the code flows)
    assert seen == {"models/harness.dsl", "models/a.dsl", "models/b.dsl"}


def test_files_outside_the_check_directory_are_absolute_file_uris(designs: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # the same project, checked from a directory inside it: every file is ../models/...
    (designs / "ci").mkdir()
    monkeypatch.chdir(designs / "ci")
    log = check_sarif("--ledger", "../proofs", "../models/a.dsl")
    assert log["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"] == (designs / "ci").as_uri() + "/"
    artifacts = list(artifact_locations(log))
    assert artifacts
    for artifact in artifacts:
        assert "uriBaseId" not in artifact, artifact
        assert urlsplit(artifact["uri"]).scheme == "file", artifact
    [result] = log["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == \
        (designs / "models/harness.dsl").as_uri()


def test_fingerprints_tell_designs_apart_on_one_line_and_stay_from_run_to_run(
        designs: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    models = ("models/a.dsl", "models/b.dsl", "models/c.dsl")
    first = check_sarif(*models, status=2)       # c: no ledger record
    results = first["runs"][0]["results"]
    for r in results:                    # the two violations and c's missing record
        assert set(r["partialFingerprints"]) == {KEY}, r
        assert re.fullmatch(r"[0-9a-f]{64}", r["partialFingerprints"][KEY]), r
    assert sorted(r["ruleId"] for r in results) == ["assert", "assert", "gate"]
    count = by_model(first, "count")
    a, b = count["models/a.dsl"], count["models/b.dsl"]
    where = [r["locations"][0]["physicalLocation"] for r in (a, b)]
    assert where[0] == where[1] and where[0]["region"]["startLine"] == ASSERT_LINE   # one harness line
    assert a["partialFingerprints"] != b["partialFingerprints"]
    assert len({r["partialFingerprints"][KEY] for r in results}) == len(results)

    def fingerprints(log: dict[str, Any]) -> dict[tuple[str, str, str], str]:
        return {(r["properties"].get("model", ""), r["properties"].get("property", ""), r["ruleId"]):
                r["partialFingerprints"][KEY] for r in log["runs"][0]["results"]}

    # solved again: the same fingerprints
    assert fingerprints(check_sarif(*models, out="again.sarif", status=2)) == fingerprints(first)
    # a checkout in another directory: the same fingerprints, only %SRCROOT% differs
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "project"
    shutil.copytree(designs, elsewhere)
    monkeypatch.chdir(elsewhere)
    moved = check_sarif(*models, status=2)
    assert moved["runs"][0]["originalUriBaseIds"] != first["runs"][0]["originalUriBaseIds"]
    assert fingerprints(moved) == fingerprints(first)


def test_a_violation_keeps_its_fingerprint_when_it_becomes_new(designs: Path) -> None:
    # expected by the record (warning), then not (error, a message that says so): one alert
    before = by_model(check_sarif("models/a.dsl"), "count")["models/a.dsl"]
    write(designs, DESIGN_A.replace("word t = n; n = t + 1;", "atomic_inc(&n);"), "models/a.dsl")
    assert run("prove", "--record", "models/a.dsl").rc == 0        # recorded as proved
    write(designs, DESIGN_A, "models/a.dsl")                        # violated again: new
    after = by_model(check_sarif("models/a.dsl", status=1), "count")["models/a.dsl"]
    assert (before["level"], after["level"]) == ("warning", "error")
    assert after["partialFingerprints"] == before["partialFingerprints"]


def test_an_unknown_srcroot_has_no_uri() -> None:
    # the library alone (no directory given): %SRCROOT% is described, with no URI
    doc = json.loads(reports.sarif_json([], ["error: a usage error"]))
    assert set(doc["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]) == {"description"}
    [result] = doc["runs"][0]["results"]
    assert set(result["partialFingerprints"]) == {KEY}


def _slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_rule_has_a_full_description_and_help_naming_a_section(designs: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    log = check_sarif("models/a.dsl", "models/c.dsl", status=2)
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert {r["ruleId"] for r in log["runs"][0]["results"]} <= {rule["id"] for rule in rules}
    assert {rule["id"] for rule in rules} == {"leak", "uaf", "deadlock", "assert", "lost_update", "gate"}
    for rule in rules:
        assert rule["fullDescription"]["text"] and rule["fullDescription"] != rule["shortDescription"], rule["id"]
        assert rule["help"]["text"] and rule["help"]["markdown"], rule["id"]
        # no published address: no helpUri (SARIF wants an absolute one); the help names the section
        assert "helpUri" not in rule, rule["id"]
        doc = re.search(r"\]\(([^)]+)\)", rule["help"]["markdown"]).group(1)
        path, _, anchor = doc.partition("#")
        assert (ROOT / path).is_file() and anchor, doc
        headings = [line.lstrip("#") for line in (ROOT / path).read_text(encoding="utf-8").splitlines()
                    if line.startswith("#")]
        assert anchor in {_slug(h) for h in headings}, doc
    monkeypatch.setattr(reports, "PROJECT_URL", "https://example.org/objcg-prove/blob/main/")
    rules = check_sarif("models/a.dsl", "models/c.dsl", status=2)["runs"][0]["tool"]["driver"]["rules"]
    assert all(rule["helpUri"].startswith("https://example.org/objcg-prove/blob/main/") and
               rule["helpUri"] in rule["help"]["markdown"] for rule in rules)