"""The proof ledger: one reviewed record of expected verdicts per model, and the comparison of a
new result with it.

Input: a `verdict.ModelResult` (to record), or a record file and a new result (to compare).
Output: record text (deterministic JSON: sorted keys, properties in report order, no timings,
a trailing newline, so re-recording an unchanged model gives the same bytes), `Record` values
read back and validated (a `LedgerError` names the file, and the line:column of the offending
key or byte where there is one), and `Finding`s: what differs between a record and a new
result, and what in the record no longer describes the model.

NOTE(record-seal): every record carries `record_sha256`, a sha256 over the rest of the record
(`seal_of`). A record edited after `prove --record` wrote it (its model hash, file list,
versions, bound, params or expectations) no longer matches its seal, and `compare` fails it,
naming what differs from the model; re-recording writes a new seal. A record that checks a
lower bound than the model declares fails too (a weaker proof than the model claims).
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
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..lang.diagnostics import Span, SourceCache, UserError
from ..lang.parser import load_model
from ..lang.resolve import resolve
from ..lang.syntax import Module
from ..prove.verdict import BOUNDED, KINDS, PROVED, UNKNOWN, VACUOUS, VIOLATED, ModelResult, PropertyResult

FORMAT = "objcg-prove ledger 1"
DEFAULT_LEDGER = "proofs"
RECORDABLE = (PROVED, VIOLATED, BOUNDED)   # unknown and vacuous are never expectations
MAX_RECORD_BYTES = 1 << 20   # a record is a few kilobytes; anything much larger is not one

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
    seal: str | None = field(default=None, compare=False)   # record_sha256 as read; None: missing
    source: str = field(default="", compare=False)           # the file it was read from


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
    internal: list[str] = field(default_factory=list)  # tool faults: a replay or a worker failed, a bug
    notes: list[str] = field(default_factory=list)     # e.g. a cache entry that was ignored
    cached: bool = False
    declared_bound: int | None = None                  # the model's own bound (Fingerprint)

    @property
    def status(self) -> str:
        """error, internal, fail, inconclusive or pass (never pass without a result)."""
        if self.errors:
            return "error"
        if self.internal or self.result is None:
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


def writable_record(target: Path) -> Path:
    """Where the record `target` may be written: `target` itself (absent, or a ledger record), or
    the record a symlink `target` points to, so the link stays. LedgerError when `target` holds
    anything else (a directory, a special file, a dangling symlink, a file without the ledger's
    format in it): nothing the user wrote is replaced."""
    real = Path(os.path.realpath(target)) if target.is_symlink() else target
    shown = f"{target} (a symlink to {real})" if real != target else str(target)
    data = _small_file(real, shown, "not recorded")
    if data is None:
        if real != target:
            raise LedgerError(f"{shown}: not recorded: the symlink's target does not exist")
        return target
    if FORMAT.rsplit(" ", 1)[0].encode() not in data:
        raise LedgerError(f"{shown}: not recorded: it exists and is not a ledger record, so it was left as it is; "
                          "move it away and record again")
    return real


def _small_file(file: Path, shown: str, failure: str) -> bytes | None:
    """The bytes of `file`, a regular file of at most MAX_RECORD_BYTES (nothing else is read: a
    FIFO would block, /dev/zero never end); None when it does not exist. Else LedgerError
    "`shown`: `failure`: why"."""
    try:
        st = os.stat(file)
        if stat.S_ISDIR(st.st_mode):
            raise LedgerError(f"{shown}: {failure}: it is a directory")
        if not stat.S_ISREG(st.st_mode):
            raise LedgerError(f"{shown}: {failure}: it is not a regular file")
        if st.st_size > MAX_RECORD_BYTES:
            raise LedgerError(f"{shown}: {failure}: it is {st.st_size} bytes (a record is at most "
                              f"{MAX_RECORD_BYTES})")
        with open(file, "rb") as f:
            return f.read(MAX_RECORD_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise LedgerError(f"{shown}: {failure}: {exc.strerror or exc}") from None


# ---- the model's fingerprint ------------------------------------------------------------------


@dataclass(frozen=True)
class ModelFacts:
    """What a record says about the model, as the model is now."""

    files: tuple[tuple[str, str], ...]   # (name, text): the model and every file it includes, in order
    module: Module

    @property
    def sha256(self) -> str:
        return digest([text for _, text in self.files])

    def declared_bound(self, params: tuple[tuple[str, int], ...]) -> int | None:
        """The model's own bound (its `bound` declaration, or the default) with these -D values;
        None when the model does not resolve with them (the verifier reports why)."""
        try:
            return resolve(self.module, dict(params), None).bound
        except UserError:
            return None


def read_model(path: str) -> ModelFacts:
    """Read the model and every file it includes (parser.load_model). Raises UserError on bad
    input."""
    sources = SourceCache()
    module = load_model(path, sources)
    return ModelFacts(tuple(sources.texts.items()), module)


def model_files(path: str) -> list[tuple[str, str]]:
    """(name, text) of the model and every file it includes, in include order. Raises UserError
    on bad input."""
    return list(read_model(path).files)


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


def _data(record: Record) -> dict[str, Any]:
    """The record as JSON data, without its seal."""
    return {
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


def seal_of(record: Record) -> str:
    """NOTE(record-seal): sha256 over the record's data without the seal, as compact JSON with
    sorted keys (so the layout of the file does not matter, its content does)."""
    text = json.dumps(_data(record), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def dumps(record: Record) -> str:
    data = _data(record)
    data["record_sha256"] = seal_of(record)
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# ---- reading records --------------------------------------------------------------------------


def load(file: Path) -> Record:
    """Read and validate a record file. LedgerError names the file, and the line:column of the
    offending key, value or byte where there is one (nothing but a small regular file is read)."""
    data = _small_file(file, str(file), "cannot read the ledger record")
    if data is None:
        raise LedgerError(f"{file}: no such ledger record")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[:exc.start].decode("utf-8")
        line, column = _line_column(before, len(before))
        raise LedgerError(f"{file}:{line}:{column}: malformed ledger record: not UTF-8 text "
                          f"(byte 0x{data[exc.start]:02x})") from None
    return loads(text, str(file))


class _Bad(Exception):
    """A malformed record: where in the JSON (a path of keys and indices) and what is wrong."""

    def __init__(self, at: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.at, self.message = at, message


def loads(text: str, file: str) -> Record:
    duplicates: list[str] = []

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out = dict(pairs)
        if len(out) != len(pairs):
            seen: set[str] = set()
            duplicates.extend(k for k, _ in pairs if k in seen or seen.add(k))   # type: ignore[func-returns-value]
        return out

    try:
        data = json.loads(text, object_pairs_hook=unique)
    except json.JSONDecodeError as exc:
        raise LedgerError(f"{file}:{exc.lineno}:{exc.colno}: malformed ledger record: {exc.msg}") from None
    except RecursionError:
        line, column = _line_column(text, _too_deep(text))
        raise LedgerError(f"{file}:{line}:{column}: malformed ledger record: nested too deeply") from None
    except ValueError as exc:   # a number too long to convert
        found = re.search(r"\d{4000,}", text)
        line, column = _line_column(text, found.start() if found else 0)
        raise LedgerError(f"{file}:{line}:{column}: malformed ledger record: {exc}") from None
    if duplicates:
        key = re.compile(re.escape(json.dumps(duplicates[0], ensure_ascii=False)) + r"\s*:")
        second = [m.start() for m in key.finditer(text)][1:2] or [0]
        line, column = _line_column(text, second[0])
        raise LedgerError(f"{file}:{line}:{column}: malformed ledger record: the key {duplicates[0]!r} appears "
                          "twice in one object")
    try:
        return _record(data, file)
    except _Bad as bad:
        line, column = _line_column(text, _offset(text, bad.at))
        raise LedgerError(f"{file}:{line}:{column}: malformed ledger record: {bad.message}") from None


_TOP_KEYS = {"format", "model", "bound", "params", "properties", "files", "sha256", "tool_version", "z3_version",
             "record_sha256"}
_PROPERTY_KEYS = {"name", "kind", "status", "coverage", "trace_steps", "trace_shortest"}
_HEX64 = re.compile(r"[0-9a-f]{64}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _record(data: Any, file: str) -> Record:
    obj = _object(data, (), "the record")
    if obj.get("format") != FORMAT:
        raise _Bad(("format",), f"'format' is {_show_value(obj.get('format'))}, expected {FORMAT!r}")
    _known_keys(obj, _TOP_KEYS, ())
    params = _object(_field(obj, "params", dict, ()), ("params",), "'params'")
    for name, value in params.items():
        if not _NAME.fullmatch(name):
            raise _Bad(("params", name), f"param name {_show_value(name)} is not a name")
        if not isinstance(value, int) or isinstance(value, bool):
            raise _Bad(("params", name), f"param {name!r} is {_show_value(value)}, expected an integer")
    props = []
    for i, item in enumerate(_field(obj, "properties", list, ())):
        at: tuple[str | int, ...] = ("properties", i)
        p = _object(item, at, f"properties[{i}]")
        _known_keys(p, _PROPERTY_KEYS, at)
        status, kind = _field(p, "status", str, at), _field(p, "kind", str, at)
        if status not in RECORDABLE:
            raise _Bad(at + ("status",), f"properties[{i}]: 'status' is {status!r}, expected one of "
                                         f"{', '.join(RECORDABLE)}")
        if kind not in KINDS:
            raise _Bad(at + ("kind",), f"properties[{i}]: 'kind' is {kind!r}, expected one of {', '.join(KINDS)}")
        steps = _optional(p, "trace_steps", int, at)
        if steps is not None and steps < 0:
            raise _Bad(at + ("trace_steps",), f"properties[{i}]: 'trace_steps' is {steps}, expected a count")
        props.append(ExpectedProperty(_field(p, "name", str, at), kind, status, _field(p, "coverage", str, at),
                                      steps, _optional(p, "trace_shortest", bool, at)))
    seen: set[str] = set()
    for i, prop in enumerate(props):
        if prop.name in seen:
            raise _Bad(("properties", i, "name"), f"properties[{i}]: the property {prop.name!r} is listed twice")
        seen.add(prop.name)
    bound = _field(obj, "bound", int, ())
    if bound < 1:
        raise _Bad(("bound",), f"'bound' is {bound}, expected a positive integer")
    files = _field(obj, "files", list, ())
    for i, name in enumerate(files):
        if not isinstance(name, str) or not name:
            raise _Bad(("files", i), f"files[{i}] is {_show_value(name)}, expected a file name")
        _text(name, ("files", i))
    if not files:
        raise _Bad(("files",), "'files' is empty: it lists at least the model")
    sha256 = _field(obj, "sha256", str, ())
    if not _HEX64.fullmatch(sha256):
        raise _Bad(("sha256",), f"'sha256' is {_show_value(sha256)}, expected 64 lowercase hex digits")
    seal = _optional(obj, "record_sha256", str, ())
    return Record(_field(obj, "model", str, ()), bound, tuple(sorted(params.items())), tuple(props),
                  tuple(files), sha256, _field(obj, "tool_version", str, ()), _field(obj, "z3_version", str, ()), seal, file)


def _object(value: Any, at: tuple[str | int, ...], what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Bad(at, f"{what} must be a JSON object, not {_show_value(value)}")
    return value


def _known_keys(obj: dict[str, Any], known: set[str], at: tuple[str | int, ...]) -> None:
    for key in obj:
        if key not in known:
            raise _Bad(at + (key,), f"{_where(at)}unknown key {_show_value(key)} (expected: {', '.join(sorted(known))})")


def _field(obj: dict[str, Any], key: str, kind: type, at: tuple[str | int, ...]) -> Any:
    if key not in obj:
        raise _Bad(at, f"{_where(at)}'{key}' is missing")
    value = obj[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _Bad(at + (key,), f"{_where(at)}'{key}' is {_show_value(value)}, expected {_TYPE_WORDS[kind]}")
    if isinstance(value, str):
        _text(value, at + (key,))
    return value


def _optional(obj: dict[str, Any], key: str, kind: type, at: tuple[str | int, ...]) -> Any:
    if obj.get(key) is None:
        return None
    return _field(obj, key, kind, at)


def _text(value: str, at: tuple[str | int, ...]) -> None:
    """A string the tool can print and write: no lone surrogate (a \\udXXX escape)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _Bad(at, f"{_where(at)}a lone surrogate escape (\\ud800-\\udfff) is not text") from None


def _where(at: tuple[str | int, ...]) -> str:
    """'properties[2]: ' for a property's keys, '' at the top level."""
    return "".join(f"[{step}]" if isinstance(step, int) else (f".{step}" if i else step)
                   for i, step in enumerate(at)) + ": " if at else ""


def _show_value(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_TYPE_WORDS = {str: "a string", int: "an integer", bool: "true or false", list: "a list", dict: "an object"}


# ---- where a key of a record is (for line:column) --------------------------------------------


_WS = re.compile(r"[ \t\n\r]*")


def _offset(text: str, at: tuple[str | int, ...]) -> int:
    """The offset in `text` (valid JSON) of the key (or list element) `at` leads to; as deep as
    the path can be followed: a missing key gives its object's opening brace."""
    decoder = json.JSONDecoder()
    i = offset = _WS.match(text, 0).end()   # type: ignore[union-attr]
    try:
        for step in at:
            found = None
            if text[i] == "{" and isinstance(step, str):
                i = _WS.match(text, i + 1).end()   # type: ignore[union-attr]
                while text[i] == '"':
                    key_at = i
                    key, i = json.decoder.scanstring(text, i + 1)   # type: ignore[attr-defined]
                    i = _WS.match(text, _WS.match(text, i).end() + 1).end()   # type: ignore[union-attr]
                    if key == step:
                        found = (key_at, i)
                    i = _WS.match(text, decoder.raw_decode(text, i)[1]).end()   # type: ignore[union-attr]
                    if text[i] == ",":
                        i = _WS.match(text, i + 1).end()   # type: ignore[union-attr]
            elif text[i] == "[" and isinstance(step, int):
                i = _WS.match(text, i + 1).end()   # type: ignore[union-attr]
                index = 0
                while text[i] != "]":
                    if index == step:
                        found = (i, i)
                        break
                    i = _WS.match(text, decoder.raw_decode(text, i)[1]).end()   # type: ignore[union-attr]
                    if text[i] == ",":
                        i = _WS.match(text, i + 1).end()   # type: ignore[union-attr]
                    index += 1
            if found is None:
                return offset
            offset, i = found
    except (ValueError, IndexError, RecursionError):
        pass
    return offset


def _too_deep(text: str, limit: int = 100) -> int:
    """The offset of the first bracket nested deeper than `limit` (0 if none), strings skipped."""
    depth = 0
    for token in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text):
        bracket = token.group()
        if bracket in "[{":
            depth += 1
            if depth > limit:
                return token.start()
        elif bracket in "]}":
            depth -= 1
    return 0


def _line_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of `offset` in `text` (lines end at \\n, as in JSONDecodeError)."""
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def key_span(file: str, at: tuple[str | int, ...]) -> Span:
    """Where in the record file `file` the key `at` is (line 0 when it cannot be read or found),
    for a diagnostic that blames the record."""
    try:
        text = Path(file).read_text(encoding="utf-8")
        json.loads(text)
    except (OSError, ValueError, RecursionError):
        return Span(file, 0, 0)
    line, column = _line_column(text, _offset(text, at))
    return Span(file, line, column)


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


@dataclass(frozen=True)
class Fingerprint:
    """The model as it is now, in a record's terms: what `compare` holds the record's own
    fields (hash, files, bound, versions) to."""

    sha256: str
    files: tuple[str, ...]         # relative to the project root, in include order
    declared_bound: int | None     # the model's own bound with the record's -D values (None: unknown)
    tool_version: str
    z3_version: str


def fingerprint(ledger_dir: str, facts: ModelFacts, params: tuple[tuple[str, int], ...], tool_version: str,
                z3_version: str) -> Fingerprint:
    return Fingerprint(facts.sha256, tuple(model_key(ledger_dir, name) for name, _ in facts.files),
                       facts.declared_bound(params), tool_version, z3_version)


def compare(record: Record, result: ModelResult, now: Fingerprint) -> list[Finding]:
    """What differs between a record and a new result. A changed status, or a property only one
    of them has, fails; a property the solver could not decide is inconclusive (never a pass);
    a record edited after it was recorded, or checking a lower bound than the model declares,
    fails (NOTE(record-seal)); a stale hash, a changed counterexample length and changed
    coverage words are notes."""
    out: list[Finding] = []
    now_props = {p.name: p for p in result.properties}
    expected = {e.name: e for e in record.properties}
    for e in record.properties:
        p = now_props.get(e.name)
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
    out.extend(_record_findings(record, now))
    if now.sha256 != record.sha256 and not any(f.severity != NOTE for f in out):
        files = "" if now.files == record.files else \
            f" (it now reads {_show(now.files)}; recorded: {_show(record.files)})"
        out.append(Finding("", NOTE, "the record's hash is stale: the model or a file it includes changed since "
                                     f"it was recorded{files}, but every verdict matches"))
    return out


def _record_findings(record: Record, now: Fingerprint) -> list[Finding]:
    """NOTE(record-seal): a record edited by hand, said plainly with what no longer matches the
    model; a record that checks less than the model declares."""
    out = []
    if record.seal != seal_of(record):
        why = "has no record_sha256" if record.seal is None else "does not match its record_sha256"
        out.append(Finding("", FAIL, f"the record {record.source} was edited after `prove --record` wrote it: its "
                                     f"content {why} (a record is written by the tool, never by hand)"))
        if record.sha256 != now.sha256:
            out.append(Finding("", FAIL, f"the edited record's model hash (sha256) is {record.sha256[:12]}...; "
                                         f"the model's is {now.sha256[:12]}..."))
        if record.files != now.files:
            out.append(Finding("", FAIL, f"the edited record lists the files {_show(record.files)}; the model reads "
                                         f"{_show(now.files)}"))
        if (record.tool_version, record.z3_version) != (now.tool_version, now.z3_version):
            out.append(Finding("", FAIL, f"the edited record names objcg-prove {record.tool_version}, z3 "
                                         f"{record.z3_version}; this check runs objcg-prove {now.tool_version}, z3 "
                                         f"{now.z3_version}"))
    if now.declared_bound is not None and record.bound < now.declared_bound:
        out.append(Finding("", FAIL, f"the record checks bound {record.bound}, below the model's own bound "
                                     f"{now.declared_bound}: a weaker proof than the model claims"))
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
    if old.seal is None:
        out.append("record_sha256: added (the old record had none)")
    elif old.seal != seal_of(old):
        out.append("record_sha256: the old record had been edited by hand (its content did not match it); "
                   "sealed again")
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
