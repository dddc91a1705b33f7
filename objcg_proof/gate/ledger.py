"""The proof ledger: one reviewed record of expected verdicts per model, and the comparison of a
new result with it.

Input: a record file, read here (nothing but a small regular file) and validated by
record_read.py into a `Record` (record.py: the format, the seal, where records live), and a new
`verdict.ModelResult` with the model's `Fingerprint` as it is now. Output: `Finding`s (what
differs between a record and a new result, and what in the record no longer describes the
model: NOTE(record-seal) in record.py), gathered per model in a `ModelCheck`; and what
re-recording changes, in words (`record_changes`); where a record may be written
(`writable_record`: never over a file the tool did not write). This module is also the entry
callers import the ledger from: the record's format and paths are re-exported here.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..prove.verdict import BOUNDED, UNKNOWN, VACUOUS, VIOLATED, ModelResult, PropertyResult
from .record import (DEFAULT_LEDGER, FORMAT, MAX_RECORD_BYTES, ExpectedProperty, LedgerError, ModelFacts, Record,
                     coverage_words, digest, dumps, make_record, model_files, model_key, read_model, record_path,
                     seal_of)
from .record_read import key_span, line_column, loads

# what callers import from here, wherever it now lives
__all__ = ["DEFAULT_LEDGER", "MAX_RECORD_BYTES", "FAIL", "INCONCLUSIVE", "NOTE", "LedgerError", "Record", "Finding",
           "ModelCheck", "Fingerprint", "model_key", "record_path", "writable_record", "read_model", "model_files",
           "digest", "make_record", "dumps", "load", "loads", "key_span", "fingerprint", "compare", "record_changes"]

# what a finding does to the gate: fail (exit 1), inconclusive (exit 3: the solver gave up), note
FAIL, INCONCLUSIVE, NOTE = "fail", "inconclusive", "note"


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


# ---- record files on disk: reading one, and where one may be written ---------------------------


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
        line, column = line_column(before, len(before))
        raise LedgerError(f"{file}:{line}:{column}: malformed ledger record: not UTF-8 text "
                          f"(byte 0x{data[exc.start]:02x})") from None
    return loads(text, str(file))


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
    if record.memory_model != result.memory_model:
        return [Finding("", FAIL, f"the record holds verdicts under {_model_words(record.memory_model)}, but the model "
                                  f"was verified under {_model_words(result.memory_model)}")]
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


def _model_words(memory_model: str) -> str:
    return "the LKMM" if memory_model == "lkmm" else "sequential consistency"


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
