"""A ledger record: one model's expected verdicts, as deterministic JSON, and where it lives.

Input: a `verdict.ModelResult` and the files the model read. Output: a `Record` and its text
(`dumps`: sorted keys, properties in report order, no timings, a trailing newline, so
re-recording an unchanged model gives the same bytes), sealed with `record_sha256`; the path of
a model's record (NOTE(ledger-paths)); what a record
says about the model as it is now (`ModelFacts`: its files, their `digest`, its own bound).
Validating a record's text is record_read.py; reading a record file, deciding where one may be
written and comparing a record with a new result, gate/ledger.py.

NOTE(record-seal): every record carries `record_sha256`, a sha256 over the rest of the record
(`seal_of`). A record edited after `prove --record` wrote it (its model hash, file list,
versions, bound, params or expectations) no longer matches its seal, and `compare` fails it,
naming what differs from the model; re-recording writes a new seal. A record that checks a
lower bound than the model declares fails too (a weaker proof than the model claims).
Nothing here prints or verifies; cli/gate.py does.

Where records live (NOTE(ledger-paths)): the ledger directory's parent is the project root
(`proofs/` sits beside `models/`). A model's record is the model's path relative to that root,
under the ledger directory, with `.json` appended: models/objcg_v5.dsl is recorded in
proofs/models/objcg_v5.dsl.json. The verdicts under the LKMM (`--memory-model lkmm`, or a model
that declares `memory_model lkmm;`) are a record of their own, with `.lkmm.json` appended
instead (proofs/models/objcg_v5.dsl.lkmm.json), so one model can be held to both; such a
record says `"memory_model": "lkmm"`, and a sequentially consistent one has no such key.
Distinct model paths give distinct record paths; a model outside the root has no record path
(a `LedgerError`).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..lang.diagnostics import SourceCache, UserError
from ..lang.parser import load_model
from ..lang.resolve import resolve
from ..lang.syntax import MemoryModelDecl, Module
from ..prove.verdict import BOUNDED, PROVED, VIOLATED, ModelResult, PropertyResult

FORMAT = "objcg-prove ledger 1"
DEFAULT_LEDGER = "proofs"
RECORDABLE = (PROVED, VIOLATED, BOUNDED)   # unknown and vacuous are never expectations
MAX_RECORD_BYTES = 1 << 20   # a record is a few kilobytes; anything much larger is not one


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
    memory_model: str = "sc"            # the memory model the verdicts hold under (NOTE(ledger-paths))
    seal: str | None = field(default=None, compare=False)   # record_sha256 as read; None: missing
    source: str = field(default="", compare=False)           # the file it was read from


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


def record_path(ledger_dir: str, model_path: str, memory_model: str = "sc") -> Path:
    """The record of the model's verdicts under `memory_model`: MODEL.json under sequential
    consistency, MODEL.lkmm.json under the LKMM (a model may have both)."""
    suffix = "" if memory_model == "sc" else f".{memory_model}"
    return Path(ledger_dir) / (model_key(ledger_dir, model_path) + suffix + ".json")


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

    def memory_model(self, chosen: str | None) -> str:
        """The memory model its verdicts are checked under: `chosen` (--memory-model), else the
        model's `memory_model` declaration, else sc (as prove/verify.py picks it)."""
        declared = [d.name for d in self.module.decls if isinstance(d, MemoryModelDecl)]
        return chosen or (declared[0] if declared else "sc")


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
    some execution runs past, in file order (prove/verify.py), the same in every run."""
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
                  tool_version, z3_version, result.memory_model)


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
        # only under a weak memory model: a sequentially consistent record has no such key
        **({"memory_model": record.memory_model} if record.memory_model != "sc" else {}),
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

