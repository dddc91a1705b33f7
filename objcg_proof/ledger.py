"""The proof ledger: one reviewed record of expected verdicts per model, and the comparison of a
new result with it.

Input: a `verdict.ModelResult` (to record), or a record file and a new result (to compare).
Output: record text (deterministic JSON: sorted keys, properties in report order, no timings,
a trailing newline, so re-recording an unchanged model gives the same bytes), `Record` values
read back and validated, and `Finding`s: what differs between a record and a new result.
Nothing here prints or verifies; `gate.py` does.

Where records live (NOTE(ledger-paths)): the ledger directory's parent is the project root
(`proofs/` sits beside `models/`). A model's record is the model's path relative to that root,
under the ledger directory, with `.json` appended: models/objcg_v5.dsl is recorded in
proofs/models/objcg_v5.dsl.json. Distinct model paths give distinct record paths; a model
outside the root has no record path (a `LedgerError`).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .diagnostics import SourceCache
from .parser import load_model
from .verdict import BOUNDED, KINDS, PROVED, UNKNOWN, VACUOUS, VIOLATED, ModelResult, PropertyResult

FORMAT = "objcg-prove ledger 1"
DEFAULT_LEDGER = "proofs"
RECORDABLE = (PROVED, VIOLATED, BOUNDED)   # unknown and vacuous are never expectations

# what a finding does to the gate: fail (exit 1), inconclusive (exit 3: the solver gave up), note
FAIL, INCONCLUSIVE, NOTE = "fail", "inconclusive", "note"


class LedgerError(Exception):
    """A ledger record that is missing, malformed or cannot be placed: bad input (exit 2)."""


@dataclass(frozen=True)
class ExpectedProperty:
    name: str
    kind: str
    status: str
    coverage: str
    trace_steps: int | None      # violated: the length of the shortest counterexample
    trace_shortest: bool | None  # violated: whether that length was confirmed shortest


@dataclass(frozen=True)
class Record:
    model: str                          # relative to the project root (the ledger's parent)
    bound: int
    params: tuple[tuple[str, int], ...]  # the -D values the model was recorded with
    properties: tuple[ExpectedProperty, ...]
    files: tuple[str, ...]              # the model and every file it includes, in include order
    sha256: str
    tool_version: str
    z3_version: str


@dataclass(frozen=True)
class Finding:
    property: str       # a property name, or "" for the model as a whole
    severity: str       # FAIL, INCONCLUSIVE or NOTE
    message: str


@dataclass
class ModelCheck:
    """One model held to its record: what `objcg-prove check` reports for it."""

    path: str
    record_file: str
    record: Record | None = None
    result: ModelResult | None = None
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)   # bad input: the model was not compared
    internal: list[str] = field(default_factory=list)  # counterexamples that did not replay
    cached: bool = False

    @property
    def status(self) -> str:
        """error, internal, fail, inconclusive or pass."""
        if self.errors:
            return "error"
        if self.internal:
            return "internal"
        severities = {f.severity for f in self.findings}
        return FAIL if FAIL in severities else INCONCLUSIVE if INCONCLUSIVE in severities else "pass"


# ---- where records live (NOTE(ledger-paths)) --------------------------------------------------


def project_root(ledger_dir: str) -> Path:
    return Path(os.path.abspath(ledger_dir)).parent


def model_key(ledger_dir: str, model_path: str) -> str:
    """The model's path relative to the project root, with '/' separators."""
    root = project_root(ledger_dir)
    try:
        rel = Path(os.path.abspath(model_path)).relative_to(root)
    except ValueError:
        raise LedgerError(f"{model_path}: the model is outside the project root {root} (the parent of the "
                          f"ledger directory {ledger_dir}); pass --ledger DIR with DIR beside the models") from None
    return rel.as_posix()


def record_path(ledger_dir: str, model_path: str) -> Path:
    return Path(ledger_dir) / (model_key(ledger_dir, model_path) + ".json")


# ---- the model's fingerprint ------------------------------------------------------------------


def model_files(path: str) -> list[tuple[str, str]]:
    """(name, text) of the model and every file it includes, in include order (parser.load_model
    reads them). Raises UserError on bad input."""
    sources = SourceCache()
    load_model(path, sources)
    return list(sources.texts.items())


def digest(texts: list[str]) -> str:
    """sha256 over the texts in order, each as its UTF-8 length, ':', and its UTF-8 bytes."""
    h = hashlib.sha256()
    for text in texts:
        data = text.encode("utf-8")
        h.update(f"{len(data)}:".encode("ascii"))
        h.update(data)
    return h.hexdigest()


# ---- writing records --------------------------------------------------------------------------


def coverage_words(p: PropertyResult) -> str:
    """What the bound covered, as recorded: the report's words. For bounded they name every loop
    some execution runs past, in file order (verify.py), the same in every run."""
    return p.coverage


def make_record(ledger_dir: str, result: ModelResult, defines: tuple[tuple[str, int], ...],
                files: list[tuple[str, str]], tool_version: str, z3_version: str) -> Record:
    """The record of a result. Every property must be proved, violated or bounded."""
    bad = [p.name for p in result.properties if p.status not in RECORDABLE]
    assert not bad, f"not recordable: {bad}"
    props = tuple(ExpectedProperty(p.name, p.kind, p.status, coverage_words(p),
                                   len(p.trace.steps) if p.status == VIOLATED and p.trace else None,
                                   p.trace.shortest if p.status == VIOLATED and p.trace else None)
                  for p in result.properties)
    return Record(model_key(ledger_dir, result.path), result.bound, tuple(sorted(defines)), props,
                  tuple(model_key(ledger_dir, name) for name, _ in files), digest([t for _, t in files]),
                  tool_version, z3_version)


def dumps(record: Record) -> str:
    data = {
        "format": FORMAT,
        "model": record.model,
        "bound": record.bound,
        "params": dict(record.params),
        "properties": [
            {"name": p.name, "kind": p.kind, "status": p.status, "coverage": p.coverage,
             "trace_steps": p.trace_steps, "trace_shortest": p.trace_shortest}
            for p in record.properties
        ],
        "files": list(record.files),
        "sha256": record.sha256,
        "tool_version": record.tool_version,
        "z3_version": record.z3_version,
    }
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# ---- reading records --------------------------------------------------------------------------


def load(file: Path) -> Record:
    """Read and validate a record file; LedgerError names the file (and line:column for JSON)."""
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LedgerError(f"{file}: no such ledger record") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LedgerError(f"{file}: cannot read the ledger record: {exc}") from None
    return loads(text, str(file))


def loads(text: str, file: str) -> Record:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LedgerError(f"{file}:{exc.lineno}:{exc.colno}: malformed ledger record: {exc.msg}") from None
    where = f"{file}: malformed ledger record"
    obj = _object(data, where, "the record")
    if obj.get("format") != FORMAT:
        raise LedgerError(f"{where}: 'format' is {obj.get('format')!r}, expected {FORMAT!r}")
    params = _object(_field(obj, "params", dict, where), where, "'params'")
    for name, value in params.items():
        if not isinstance(value, int) or isinstance(value, bool):
            raise LedgerError(f"{where}: param {name!r} is {value!r}, expected an integer")
    props = []
    for i, item in enumerate(_field(obj, "properties", list, where)):
        at = f"{where}: properties[{i}]"
        p = _object(item, at, "a property")
        status, kind = _field(p, "status", str, at), _field(p, "kind", str, at)
        if status not in RECORDABLE:
            raise LedgerError(f"{at}: 'status' is {status!r}, expected one of {', '.join(RECORDABLE)}")
        if kind not in KINDS:
            raise LedgerError(f"{at}: 'kind' is {kind!r}, expected one of {', '.join(KINDS)}")
        props.append(ExpectedProperty(_field(p, "name", str, at), kind, status, _field(p, "coverage", str, at),
                                      _optional(p, "trace_steps", int, at), _optional(p, "trace_shortest", bool, at)))
    names = [p.name for p in props]
    if len(set(names)) != len(names):
        raise LedgerError(f"{where}: a property is listed twice")
    bound = _field(obj, "bound", int, where)
    if bound < 1:
        raise LedgerError(f"{where}: 'bound' is {bound}, expected a positive integer")
    files = _field(obj, "files", list, where)
    if not all(isinstance(f, str) for f in files):
        raise LedgerError(f"{where}: 'files' must list file names")
    return Record(_field(obj, "model", str, where), bound, tuple(sorted(params.items())), tuple(props),
                  tuple(files), _field(obj, "sha256", str, where), _field(obj, "tool_version", str, where),
                  _field(obj, "z3_version", str, where))


def _object(value: Any, where: str, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise LedgerError(f"{where}: {what} must be a JSON object")
    return value


def _field(obj: dict[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in obj:
        raise LedgerError(f"{where}: '{key}' is missing")
    value = obj[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise LedgerError(f"{where}: '{key}' is {value!r}, expected {_TYPE_WORDS[kind]}")
    return value


def _optional(obj: dict[str, Any], key: str, kind: type, where: str) -> Any:
    if obj.get(key) is None:
        return None
    return _field(obj, key, kind, where)


_TYPE_WORDS = {str: "a string", int: "an integer", bool: "true or false", list: "a list", dict: "an object"}


# ---- comparing -----------------------------------------------------------------------------------


def _now(p: PropertyResult) -> str:
    if p.status == VIOLATED and p.trace is not None:
        return f"violated (counterexample of {len(p.trace.steps)} steps)"
    if p.status == UNKNOWN:
        return f"unknown ({p.reason})"
    if p.status in (VACUOUS, BOUNDED):
        return f"{p.status} ({p.coverage})"
    return p.status


def _expected(e: ExpectedProperty) -> str:
    if e.status == VIOLATED and e.trace_steps is not None:
        return f"violated (counterexample of {e.trace_steps} steps)"
    return e.status


def compare(record: Record, result: ModelResult, sha256: str) -> list[Finding]:
    """What differs between a record and a new result. A changed status, or a property only one
    of them has, fails; a property the solver could not decide is inconclusive (never a pass);
    a stale hash, a changed counterexample length and changed coverage words are notes."""
    out: list[Finding] = []
    now = {p.name: p for p in result.properties}
    expected = {e.name: e for e in record.properties}
    for e in record.properties:
        p = now.get(e.name)
        if p is None:
            out.append(Finding(e.name, FAIL, f"{e.name}: the record expects {_expected(e)}, "
                                             "but the model no longer has this property"))
        elif p.kind != e.kind:
            out.append(Finding(e.name, FAIL, f"{e.name}: expected a {e.kind} property, now a {p.kind} property"))
        elif p.status == UNKNOWN:
            out.append(Finding(e.name, INCONCLUSIVE, f"{e.name}: expected {_expected(e)}, now {_now(p)}"))
        elif p.status != e.status:
            gone = " (the recorded violation is gone)" if e.status == VIOLATED else ""
            out.append(Finding(e.name, FAIL, f"{e.name}: expected {_expected(e)}, now {_now(p)}{gone}"))
        else:
            out.extend(_notes(e, p))
    for p in result.properties:
        if p.name not in expected:
            out.append(Finding(p.name, FAIL, f"{p.name}: a {p.kind} property the record does not know, now {_now(p)}"))
    if sha256 != record.sha256 and not any(f.severity != NOTE for f in out):
        out.append(Finding("", NOTE, "the record's hash is stale: the model or a file it includes changed since "
                                     "it was recorded, but every verdict matches"))
    return out


def _notes(e: ExpectedProperty, p: PropertyResult) -> list[Finding]:
    out = []
    if p.status == VIOLATED and p.trace is not None and e.trace_steps is not None \
            and len(p.trace.steps) != e.trace_steps:
        out.append(Finding(e.name, NOTE, f"{e.name}: still violated, but the shortest counterexample has "
                                         f"{len(p.trace.steps)} steps (recorded: {e.trace_steps})"))
    if coverage_words(p) != e.coverage:
        out.append(Finding(e.name, NOTE, f"{e.name}: still {p.status}; what the bound covered now reads "
                                         f"'{coverage_words(p)}' (recorded: '{e.coverage}')"))
    return out


def record_changes(old: Record, new: Record) -> list[str]:
    """What re-recording changes, one line each (empty: nothing but formatting)."""
    out = []
    for name in ("model", "bound", "params", "files", "sha256", "tool_version", "z3_version"):
        a, b = getattr(old, name), getattr(new, name)
        if a != b:
            out.append(f"{name}: {_show(a)} -> {_show(b)}")
    before = {p.name: p for p in old.properties}
    after = {p.name: p for p in new.properties}
    for name, p in after.items():
        q = before.get(name)
        if q is None:
            out.append(f"{name}: new property ({p.kind}), {_expected(p)}")
        elif q != p:
            out.append(f"{name}: {_expected(q)} -> {_expected(p)}" if q.status != p.status or
                       q.trace_steps != p.trace_steps else f"{name}: {_describe_change(q, p)}")
    for name, q in before.items():
        if name not in after:
            out.append(f"{name}: removed (was {_expected(q)})")
    return out


def _describe_change(q: ExpectedProperty, p: ExpectedProperty) -> str:
    if q.kind != p.kind:
        return f"kind {q.kind} -> {p.kind}"
    if q.coverage != p.coverage:
        return f"coverage '{q.coverage}' -> '{p.coverage}'"
    return f"shortest confirmed {q.trace_shortest} -> {p.trace_shortest}"


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        if value and isinstance(value[0], tuple):
            return ", ".join(f"{k}={v}" for k, v in value) or "(none)"
        return ", ".join(value) or "(none)"
    return str(value)
