"""The gate's outcome for CI systems: JUnit XML, SARIF 2.1.0 and JSON.

Input: the `ledger.ModelCheck`s of one `objcg-prove check`. Output: text. Each depends only on
the checks (no clock, no host name), so a check answered from the result cache writes the same
files as one that solved every model.

JUnit: one testsuite per model, one testcase per property (the record's and the model's). A
gate failure is a <failure> whose text has the counterexample; a property the solver could not
decide is an <error>; a model that could not be compared (no record, a malformed one, bad input)
is one <error> testcase. SARIF: every violated property is a result located where it fails (the
trace's violation file:line: a failed check's line, or for a leak the reference taken and never
released; else the trace's last step), with the counterexample as a code flow; level
`error` and baselineState `new` when the record did not expect it, `warning` and `unchanged`
when it did. Every other gate failure is a result of rule `gate` on the model file.

SARIF for code scanning (GitHub's): every file is a URI relative to `%SRCROOT%`, the directory
the command ran in (model paths are relative to it, as the user gave them), which
`run.originalUriBaseIds` names as a file: URI ending in `/`; a file outside it is an absolute
file: URI without `uriBaseId`. Every result has a `partialFingerprints` entry that tells one
model's violation from another's on the same line and stays the same from run to run
(`_fingerprint`). Every rule has a full description and help (text and Markdown) naming its section
of the project's documentation (`_RULES`); a `helpUri` once the project has an address (PROJECT_URL). The SARIF file thus depends on the checks and on
that directory; nothing else (no clock, no host name).

Every outcome gives a valid document: a model that could not be compared, an internal error,
and an error of the whole command (`errors`: a usage error, or a tool fault outside any one
model) are in it too. XML 1.0 cannot carry most control characters (a model's label may hold
any): JUnit text shows each as `\\xNN` (`_xml_text`); JSON escapes them. The JSON's schema:
objcg_proof/schemas/check.schema.json (NOTE(json-schemas) in cli/report.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import quote

from .. import __version__
from ..cli.report import result_json, trace_text
from ..prove.verdict import VIOLATED, PropertyResult
from .ledger import FAIL, INCONCLUSIVE, NOTE, Finding, ModelCheck

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _failures_by_property(check: ModelCheck) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in check.findings:
        out.setdefault(f.property, []).append(f)
    return out


# ---- JUnit -------------------------------------------------------------------------------------------


def junit_xml(checks: list[ModelCheck], errors: list[str] | tuple[str, ...] = ()) -> str:
    root = ET.Element("testsuites", name="objcg-prove check")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    suites = [_junit_suite(check) for check in checks]
    if errors:
        suites.append(_error_suite("objcg-prove check", "command", list(errors),
                                   "internal" if any(e.startswith("internal error") for e in errors) else "bad-input"))
    for suite in suites:
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    _xml_clean(root)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# what XML 1.0 allows: tab, newline, carriage return, and the characters from U+0020 on, less the
# surrogates, U+FFFE and U+FFFF; a carriage return is shown too (a parser would turn it into \n)
_NOT_XML = re.compile(r"[^\t\n\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    """`text` with each character XML 1.0 cannot carry shown as \\xNN (or \\uNNNN)."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}",
                        text)


def _xml_clean(root: ET.Element) -> None:
    for element in root.iter():
        if element.text:
            element.text = _xml_text(element.text)
        for key, value in element.attrib.items():
            element.set(key, _xml_text(value))


def _error_suite(name: str, case_name: str, problems: list[str], kind: str) -> ET.Element:
    suite = ET.Element("testsuite", name=name, tests="1", failures="0", errors="1")
    case = ET.SubElement(suite, "testcase", name=case_name, classname=name)
    ET.SubElement(case, "error", message=problems[0], type=kind).text = "\n".join(problems)
    return suite


def _junit_suite(check: ModelCheck) -> ET.Element:
    problems = check.errors + [f"internal error: {m}" for m in check.internal]
    if problems or check.result is None:
        suite = _error_suite(check.path, "ledger record", problems or ["internal error: not compared"],
                             "bad-input" if check.errors else "internal")
        suite.set("file", check.path)
        return suite
    suite = ET.Element("testsuite", name=check.path, file=check.path)
    counts = {"tests": 0, "failures": 0, "errors": 0}
    findings = _failures_by_property(check)
    now = {p.name: p for p in check.result.properties}
    names = list(now) + [e.name for e in (check.record.properties if check.record else ()) if e.name not in now]
    for name in names:
        case = ET.SubElement(suite, "testcase", name=name, classname=check.path)
        p = now.get(name)
        if p is not None:
            case.set("time", f"{p.time_s:.3f}")
        own = findings.get(name, [])
        failing = [f for f in own if f.severity == FAIL]
        undecided = [f for f in own if f.severity == INCONCLUSIVE]
        if failing:
            body = "\n".join(f.message for f in failing)
            if p is not None and p.status == VIOLATED and p.trace is not None:
                body += "\n\n" + trace_text(check.path, p, p.trace, full=True)
            ET.SubElement(case, "failure", message=failing[0].message, type="verdict-changed").text = body
            counts["failures"] += 1
        elif undecided:
            ET.SubElement(case, "error", message=undecided[0].message, type="unknown").text = undecided[0].message
            counts["errors"] += 1
        out = [f.message for f in own if f.severity == NOTE]
        if p is not None and p.status == VIOLATED and p.trace is not None and not failing:
            out.insert(0, f"violated as recorded: counterexample of {len(p.trace.steps)} steps: {p.trace.violation}")
        if out:
            ET.SubElement(case, "system-out").text = "\n".join(out)
        counts["tests"] += 1
    model_failures = [f.message for f in findings.get("", []) if f.severity != NOTE]
    if model_failures:   # the record itself (edited, a lower bound): its own failing testcase
        case = ET.SubElement(suite, "testcase", name="ledger record", classname=check.path)
        ET.SubElement(case, "failure", message=model_failures[0], type="record").text = "\n".join(model_failures)
        counts["tests"] += 1
        counts["failures"] += 1
    model_notes = [f.message for f in findings.get("", []) if f.severity == NOTE]
    if model_notes:
        ET.SubElement(suite, "system-out").text = "\n".join(model_notes)
    for key, value in counts.items():
        suite.set(key, str(value))
    suite.set("time", f"{check.result.time_s:.3f}")
    return suite


# ---- SARIF -------------------------------------------------------------------------------------------

SRCROOT = "%SRCROOT%"
# the key of each result's own fingerprint in `partialFingerprints` (`_fingerprint`); change the
# version when what it hashes changes, so that code scanning does not match old results by it
FINGERPRINT_KEY = "objcgProve/v1"
# where the project's documents are published (ending in '/'), to give each rule a `helpUri`:
# SARIF wants an absolute URI there, and the project has no published address yet
# (pyproject.toml has no [project.urls]), so the rules have no helpUri and their help names the
# documentation by its path in the repository (docs/semantics.md#properties); set this once it has
PROJECT_URL: str | None = None


@dataclass(frozen=True)
class _Rule:
    short: str
    full: str
    help: str    # what to do about a result, in Markdown (`code` spans only)
    doc: str     # the section of the project's documentation, as a path in its repository


_CHANGED = ("If the violation is new (level error, baseline state new), the change to the model, "
            "the harness or the prover broke the property: fix it, or if the new verdict is intended, accept "
            "it with the `objcg-prove prove --record ...` command the check prints. If the ledger expects it "
            "(level warning, baseline state unchanged), it is a known defect of the design.")
_RULES = {
    "leak": _Rule(
        "A refcounted object still holds a reference when every thread has finished.",
        "Some execution in which every thread finishes leaves a refcounted object with a final reference "
        "count other than 0 (or other than the references the model's final block declares held). The "
        "result is located at the reference taken and never released; the code flow is the shortest such "
        "execution.",
        "Follow the code flow to the `get` or `tryget` whose reference no path puts. " + _CHANGED,
        "docs/semantics.md#properties"),
    "uaf": _Rule(
        "A released object is used, or a pointer, index or division is invalid.",
        "Some execution reaches a check site that fails: `get` or `put` on a count of 0, `kill` of a killed "
        "or released reference, a NULL or invalid pointer dereferenced, an index not below its array's "
        "size, or a division by zero. The result is located at the failing access; the code flow is the "
        "shortest execution that reaches it.",
        "Follow the code flow to the step that released the object or made the pointer invalid. " + _CHANGED,
        "docs/semantics.md#properties"),
    "deadlock": _Rule(
        "Every unfinished thread waits forever.",
        "Some execution ends with every thread finished or blocked at a wait whose condition is false on "
        "the final memory, and at least one blocked: a lost wakeup, a lock never released, or a thread "
        "waiting for itself. It fails at no single statement: the result is located at the "
        "counterexample's last step.",
        "Look in the code flow for the write the blocked thread waits for and why it never comes. "
        + _CHANGED,
        "docs/semantics.md#properties"),
    "assert": _Rule(
        "An assert() of the model is false.",
        "Some execution reaches an `assert(c, \"label\")` of the model with `c` false. All sites with one "
        "label are one property. The result is located at the failing site; the code flow is the "
        "shortest execution that reaches it.",
        "Follow the code flow to the steps that made the condition false. " + _CHANGED,
        "docs/semantics.md#properties"),
    "lost_update": _Rule(
        "A lost_update() statement of the model is false.",
        "Some execution reaches a `lost_update(c, \"label\")` of the model with `c` false: an update "
        "another thread made was overwritten. The result is located at the failing site; the code flow "
        "is the shortest execution that reaches it.",
        "Follow the code flow to the two writes of which the second lost the first. " + _CHANGED,
        "docs/semantics.md#properties"),
    "gate": _Rule(
        "A verdict differs from the proof ledger, or the model could not be held to it.",
        "`objcg-prove check` holds each model to its record in the proof ledger (proofs/). This result "
        "is a verdict that changed with no counterexample to show (now proved, bounded or unknown where "
        "the record says otherwise; a property added or removed), a record edited by hand or checking a "
        "lower bound than the model declares, or a model that could not be compared: no record, a "
        "malformed one, bad input, an internal error.",
        "Read the message. If the new verdicts are intended, re-record the model with the "
        "`objcg-prove prove --record ...` command the check prints; if the solver gave up, raise "
        "`--timeout` or `--rlimit`; otherwise fix the model or its record.",
        "README.md#the-proof-ledger-and-the-ci-gate"),
}


def _rule_json(rule_id: str, rule: _Rule) -> dict[str, Any]:
    uri = rule.doc if PROJECT_URL is None else PROJECT_URL + rule.doc
    path = rule.doc.partition("#")[0]
    rule_json: dict[str, Any] = {
        "id": rule_id,
        "shortDescription": {"text": rule.short},
        "fullDescription": {"text": rule.full},
        "help": {"text": f"{rule.help.replace('`', '')} See {uri} in objcg-prove.",
                 "markdown": f"{rule.help}\n\nSee [{path}]({uri}) in objcg-prove."},
    }
    if PROJECT_URL is not None:   # SARIF's helpUri is an absolute URI
        rule_json["helpUri"] = uri
    return rule_json


def _artifact(file: str, root: str | None) -> dict[str, str]:
    """`file` (a path as the model named it: relative to the current directory, or absolute) as
    an artifactLocation: relative to %SRCROOT% (`root`, the current directory) when inside it,
    else an absolute file: URI with no uriBaseId. `root` None: not known, and a relative path
    is taken to be relative to it."""
    if root is not None:
        where = os.path.normpath(os.path.join(root, file))
        rel = os.path.relpath(where, root)
        if rel == os.pardir or rel.startswith(os.pardir + os.sep):
            return {"uri": Path(where).as_uri()}
        return {"uri": quote(PurePath(rel).as_posix()), "uriBaseId": SRCROOT}
    if os.path.isabs(file):
        return {"uri": Path(file).as_uri()}
    return {"uri": quote(PurePath(os.path.normpath(file)).as_posix()), "uriBaseId": SRCROOT}


def _location(root: str | None, file: str, line: int = 0, message: str = "") -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": _artifact(file, root)}
    if line > 0:
        physical["region"] = {"startLine": line}
    loc: dict[str, Any] = {"physicalLocation": physical}
    if message:
        loc["message"] = {"text": message}
    return loc


def _fingerprint(result: dict[str, Any], model: str, prop: str, detail: str, root: str | None) -> None:
    """Give `result` its `partialFingerprints` entry, FINGERPRINT_KEY: a sha256 over
      - the model's path, as an artifact URI (relative to %SRCROOT%, so a checkout elsewhere
        gives the same fingerprint), "" for an error of the whole command;
      - the property's name ("" for a result about the whole model);
      - the rule id;
      - the primary location's artifact URI (its file, not its line);
      - `detail`: "" for a violation; a gate result's message, which tells apart the several
        gate results one model can have (each error, each edited field of its record).
    Two designs' violations of one property at one harness line differ by the model. Left out,
    because they change from run to run without the result being another one: the line (a
    leak's or deadlock's location, and which site of an assert label fails, is taken from the
    counterexample the solver found; and lines move with every edit above them), the trace's
    length, the level and baseline state (a new violation that gets recorded stays the same
    alert), the message of a violation (it has the step count), and anything of the clock or
    host (the root directory itself is not in it)."""
    locations = result.get("locations")
    primary = locations[0]["physicalLocation"]["artifactLocation"]["uri"] if locations else ""
    model_uri = _artifact(model, root)["uri"] if model else ""
    identity = [FINGERPRINT_KEY, model_uri, prop, result["ruleId"], primary, detail]
    digest = hashlib.sha256(json.dumps(identity, ensure_ascii=True).encode("ascii")).hexdigest()
    result["partialFingerprints"] = {FINGERPRINT_KEY: digest}


def _violation_result(check: ModelCheck, p: PropertyResult, expected: bool, root: str | None) -> dict[str, Any]:
    assert p.trace is not None
    trace = p.trace
    file, line = trace.file, trace.line
    if not file and trace.steps:
        file, line = trace.steps[-1].file, trace.steps[-1].line
    steps = [{"location": _location(root, s.file, s.line, f"step {s.index}, thread {s.thread}: {s.text}"
                                    + (f"  ({'; '.join(s.changes)})" if s.changes else "")),
              "executionOrder": s.index} for s in trace.steps]
    result: dict[str, Any] = {
        "ruleId": p.kind,
        "level": "warning" if expected else "error",
        "baselineState": "unchanged" if expected else "new",
        "message": {"text": f"{p.name} in {check.path}: {trace.violation} (counterexample of {len(trace.steps)} steps"
                            f"{'' if expected else ', not in the proof ledger'})"},
        "locations": [_location(root, file or check.path, line)],
        "properties": {"model": check.path, "property": p.name, "steps": len(trace.steps)},
    }
    if steps:
        result["codeFlows"] = [{"threadFlows": [{"locations": steps}]}]
    _fingerprint(result, check.path, p.name, "", root)
    return result


def _gate_result(check: ModelCheck, message: str, prop: str, root: str | None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": "gate", "level": "error", "message": {"text": f"{check.path}: {message}"},
        "locations": [_location(root, check.path)], "properties": {"model": check.path, "property": prop},
    }
    _fingerprint(result, check.path, prop, message, root)
    return result


def sarif_json(checks: list[ModelCheck], errors: list[str] | tuple[str, ...] = (), root: str | None = None) -> str:
    """`root`: the absolute path of the directory the command ran in (%SRCROOT%), None if it is
    not known (then originalUriBaseIds describes %SRCROOT% without a URI)."""
    results: list[dict[str, Any]] = []
    for message in errors:
        results.append({"ruleId": "gate", "level": "error", "message": {"text": f"objcg-prove check: {message}"}})
        _fingerprint(results[-1], "", "", message, root)
    for check in checks:
        for message in check.errors + [f"internal error: {m}" for m in check.internal]:
            results.append(_gate_result(check, message, "", root))
        if check.result is None:
            continue
        findings = _failures_by_property(check)
        for p in check.result.properties:
            failing = any(f.severity == FAIL for f in findings.get(p.name, []))
            if p.status == VIOLATED and p.trace is not None:
                results.append(_violation_result(check, p, expected=not failing, root=root))
        for f in check.findings:
            if f.severity in (FAIL, INCONCLUSIVE) and not _is_violation(check, f.property):
                results.append(_gate_result(check, f.message, f.property, root))
    base: dict[str, Any] = {"description": {"text": "the directory objcg-prove check ran in"}}
    if root is not None:
        uri = Path(root).as_uri()
        base["uri"] = uri if uri.endswith("/") else uri + "/"   # SARIF: a base URI ends in '/'
    rules = [_rule_json(rule_id, rule) for rule_id, rule in _RULES.items()]
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "objcg-prove", "version": __version__, "rules": rules}},
                  "originalUriBaseIds": {SRCROOT: base},
                  "results": results}],
    }
    return json.dumps(log, indent=2, sort_keys=True) + "\n"


def _is_violation(check: ModelCheck, name: str) -> bool:
    assert check.result is not None
    return any(p.name == name and p.status == VIOLATED and p.trace is not None for p in check.result.properties)


# ---- JSON --------------------------------------------------------------------------------------------


JSON_SCHEMA_VERSION = 1   # of `check --json` (objcg_proof/schemas/check.schema.json; NOTE(json-schemas) in cli/report.py)


def outcome_json(checks: list[ModelCheck], errors: list[str] | tuple[str, ...] = ()) -> str:
    """`check --json`: {"schema_version", "models", "results", "errors"}. `errors`: what went
    wrong for the whole command (a usage error, an internal error). Absent values are null: a
    model without a record path (`record`), a finding about the model as a whole (`property`)."""
    models = [{
        "model": c.path,
        "record": c.record_file or None,
        "status": c.status,
        "cached": c.cached,
        "findings": [{"property": f.property or None, "severity": f.severity, "message": f.message}
                     for f in c.findings],
        "errors": c.errors,
        "internal_errors": c.internal,
        "notes": c.notes,
    } for c in checks]
    results = [row for c in checks if c.result is not None for row in result_json(c.result)]
    return json.dumps({"schema_version": JSON_SCHEMA_VERSION, "models": models, "results": results,
                       "errors": list(errors)}, indent=2)
