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

Every outcome gives a valid document: a model that could not be compared, an internal error,
and an error of the whole command (`errors`: a usage error, or a tool fault outside any one
model) are in it too. XML 1.0 cannot carry most control characters (a model's label may hold
any): JUnit text shows each as `\\xNN` (`_xml_text`); JSON escapes them.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .. import __version__
from ..cli.report import result_json, trace_text
from ..prove.verdict import VIOLATED, PropertyResult
from .ledger import FAIL, INCONCLUSIVE, NOTE, Finding, ModelCheck

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_RULES = {
    "leak": "A refcounted object still holds a reference when every thread has finished.",
    "uaf": "A released object is used, or a pointer, index or division is invalid.",
    "deadlock": "Every unfinished thread waits forever.",
    "assert": "An assert() of the model is false.",
    "lost_update": "A lost_update() statement of the model is false.",
    "gate": "A verdict differs from the proof ledger, or the model could not be held to it.",
}


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
                body += "\n\n" + trace_text(check.path, p, p.trace)
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


def _uri(path: str) -> str:
    p = Path(path)
    return p.as_uri() if p.is_absolute() else quote(p.as_posix())


def _location(file: str, line: int = 0, message: str = "") -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(file)}}
    if line > 0:
        physical["region"] = {"startLine": line}
    loc: dict[str, Any] = {"physicalLocation": physical}
    if message:
        loc["message"] = {"text": message}
    return loc


def _violation_result(check: ModelCheck, p: PropertyResult, expected: bool) -> dict[str, Any]:
    assert p.trace is not None
    trace = p.trace
    file, line = trace.file, trace.line
    if not file and trace.steps:
        file, line = trace.steps[-1].file, trace.steps[-1].line
    steps = [{"location": _location(s.file, s.line, f"step {s.index}, thread {s.thread}: {s.text}"
                                    + (f"  ({'; '.join(s.changes)})" if s.changes else "")),
              "executionOrder": s.index} for s in trace.steps]
    result: dict[str, Any] = {
        "ruleId": p.kind,
        "level": "warning" if expected else "error",
        "baselineState": "unchanged" if expected else "new",
        "message": {"text": f"{p.name} in {check.path}: {trace.violation} (counterexample of {len(trace.steps)} steps"
                            f"{'' if expected else ', not in the proof ledger'})"},
        "locations": [_location(file or check.path, line)],
        "properties": {"model": check.path, "property": p.name, "steps": len(trace.steps)},
    }
    if steps:
        result["codeFlows"] = [{"threadFlows": [{"locations": steps}]}]
    return result


def _gate_result(check: ModelCheck, message: str, prop: str) -> dict[str, Any]:
    return {"ruleId": "gate", "level": "error", "message": {"text": f"{check.path}: {message}"},
            "locations": [_location(check.path)], "properties": {"model": check.path, "property": prop}}


def sarif_json(checks: list[ModelCheck], errors: list[str] | tuple[str, ...] = ()) -> str:
    results: list[dict[str, Any]] = [
        {"ruleId": "gate", "level": "error", "message": {"text": f"objcg-prove check: {message}"}}
        for message in errors
    ]
    for check in checks:
        for message in check.errors + [f"internal error: {m}" for m in check.internal]:
            results.append(_gate_result(check, message, ""))
        if check.result is None:
            continue
        findings = _failures_by_property(check)
        for p in check.result.properties:
            failing = any(f.severity == FAIL for f in findings.get(p.name, []))
            if p.status == VIOLATED and p.trace is not None:
                results.append(_violation_result(check, p, expected=not failing))
        for f in check.findings:
            if f.severity in (FAIL, INCONCLUSIVE) and not _is_violation(check, f.property):
                results.append(_gate_result(check, f.message, f.property))
    rules = [{"id": rule, "shortDescription": {"text": text}} for rule, text in _RULES.items()]
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "objcg-prove", "version": __version__, "rules": rules}},
                  "results": results}],
    }
    return json.dumps(log, indent=2, sort_keys=True) + "\n"


def _is_violation(check: ModelCheck, name: str) -> bool:
    assert check.result is not None
    return any(p.name == name and p.status == VIOLATED and p.trace is not None for p in check.result.properties)


# ---- JSON --------------------------------------------------------------------------------------------


def outcome_json(checks: list[ModelCheck], errors: list[str] | tuple[str, ...] = ()) -> str:
    """`errors`: what went wrong for the whole command (a usage error, an internal error)."""
    models = [{
        "model": c.path,
        "record": c.record_file,
        "status": c.status,
        "cached": c.cached,
        "findings": [{"property": f.property, "severity": f.severity, "message": f.message} for f in c.findings],
        "errors": c.errors,
        "internal_errors": c.internal,
        "notes": c.notes,
    } for c in checks]
    results = [row for c in checks if c.result is not None for row in result_json(c.result)]
    return json.dumps({"models": models, "results": results, "errors": list(errors)}, indent=2)
