"""Reading a ledger record's text back (record.py has the format): every field validated.

Input: the text of a record file (ledger.load reads the file) and the file's name. Output: a
`Record`, or a `LedgerError` naming the file and the line:column of the offending key or value
where there is one: malformed or too deeply nested JSON, a key given twice, an unknown key, a
missing or mistyped field, a status that is never recorded. `key_span` finds a key of a record
file again, for a diagnostic that blames the record; `line_column` turns an offset into one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..lang.diagnostics import Span
from ..lang.resolve import MEMORY_MODELS
from ..prove.verdict import KINDS
from .record import FORMAT, RECORDABLE, ExpectedProperty, LedgerError, Record


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
        line, column = line_column(text, _too_deep(text))
        raise LedgerError(f"{file}:{line}:{column}: malformed ledger record: nested too deeply") from None
    except ValueError as exc:   # a number too long to convert
        found = re.search(r"\d{4000,}", text)
        line, column = line_column(text, found.start() if found else 0)
        raise LedgerError(f"{file}:{line}:{column}: malformed ledger record: {exc}") from None
    if duplicates:
        key = re.compile(re.escape(json.dumps(duplicates[0], ensure_ascii=False)) + r"\s*:")
        second = [m.start() for m in key.finditer(text)][1:2] or [0]
        line, column = line_column(text, second[0])
        raise LedgerError(f"{file}:{line}:{column}: malformed ledger record: the key {duplicates[0]!r} appears "
                          "twice in one object")
    try:
        return _record(data, file)
    except _Bad as bad:
        line, column = line_column(text, _offset(text, bad.at))
        raise LedgerError(f"{file}:{line}:{column}: malformed ledger record: {bad.message}") from None


_TOP_KEYS = {"format", "model", "bound", "params", "properties", "files", "sha256", "tool_version", "z3_version",
             "memory_model", "record_sha256"}
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
    memory_model = _optional(obj, "memory_model", str, ()) or "sc"
    if memory_model not in MEMORY_MODELS:
        raise _Bad(("memory_model",), f"'memory_model' is {_show_value(memory_model)}, expected one of "
                                      f"{', '.join(MEMORY_MODELS)}")
    return Record(_field(obj, "model", str, ()), bound, tuple(sorted(params.items())), tuple(props),
                  tuple(files), sha256, _field(obj, "tool_version", str, ()), _field(obj, "z3_version", str, ()),
                  memory_model, seal, file)


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


def line_column(text: str, offset: int) -> tuple[int, int]:
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
    line, column = line_column(text, _offset(text, at))
    return Span(file, line, column)
