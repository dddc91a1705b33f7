"""Report stage: verdicts -> text for a terminal, or JSON for machines.

Text: one line per property with its status, what the bound covered and the time; then each
counterexample as a table (step, thread, file:line, statement, C line, what changed), or with
`--layout columns` one column per thread (NOTE(trace-columns)), ending with the violated
property in words, and a "not replayed" line when the reference interpreter
gave up replaying it (NOTE(replay) in cli/dispatch.py). JSON: see `to_json` (documented in the README;
its schema is objcg_proof/schemas/prove.schema.json, NOTE(json-schemas)).
"""

from __future__ import annotations

import json
import os
import textwrap
from typing import Any, TextIO

from ..prove.verdict import PROVED, VIOLATED, ModelResult, PropertyResult, Trace, TraceStep
from .narrow import Narrowed, narrow
from .style import PLAIN, OutputStyle

_STATUS_WORD = {"proved": "proved", "bounded": "BOUNDED", "violated": "VIOLATED", "unknown": "UNKNOWN",
                "vacuous": "VACUOUS"}


# NOTE(lkmm-models) in prove/verify.py: an LKMM counterexample has no one order of its steps
LKMM_TRACE_NOTE = ("  (an LKMM execution: the rows follow each thread's program order, interleaved in one order of "
                   "no meaning;\n   each read shows the value it returned, which may be older than a write "
                   "listed above it;\n   a write the value it wrote, an RMW the value it read and the one it wrote)")
# NOTE(sequential-level) in prove/lkmm.py: a counterexample found among the sequentially
# consistent executions has one order, and no barrier would forbid it
LKMM_SEQUENTIAL_NOTE = ("  (a sequentially consistent execution, which the LKMM allows too: the rows are in the "
                        "order\n   the steps ran, each read returning the last write before it; no barrier can "
                        "forbid it)")


def write_dot(directory: str, name: str, text: str, stderr: TextIO) -> str | None:
    """DIR/NAME.dot (NAME with the characters a file name should not hold replaced by '_'),
    replacing a file of that name; None, said on stderr, when it cannot be written."""
    safe = "".join(c if c.isalnum() or c in "+-._" else "_" for c in name).lstrip(".") or "graph"
    target = os.path.join(directory, safe + ".dot")
    try:
        os.makedirs(directory, exist_ok=True)
        with open(target, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        stderr.write(f"objcg-prove: error: cannot write {target}: {exc.strerror}\n")
        return None
    return target


def model_text(result: ModelResult, show_traces: bool = True, layout: str = "table",
               style: OutputStyle = PLAIN) -> str:
    """A model's verdict lines and counterexamples; with `style.quiet` only the properties that
    are not proved and no counterexample, "" when every one is proved (NOTE(output-style))."""
    model = ", under the LKMM" if result.memory_model == "lkmm" else ""
    lines = [f"{result.path}  (bound {result.bound}{model}, {result.time_s:.2f}s)"]
    width = max((len(p.name) for p in result.properties), default=8)
    shown = [p for p in result.properties if not (style.quiet and p.status == PROVED)]
    if style.quiet and not shown:
        return ""
    for p in shown:
        word = _STATUS_WORD[p.status]
        lines.append(f"  {p.name:<{width}}  {p.kind:<11}  {style.paint(word, p.status)}{' ' * (8 - len(word))}  {_detail(p)}")
    if show_traces and not style.quiet:
        for p in result.properties:
            if p.status == VIOLATED and p.trace is not None:
                lines.append("")
                render = trace_columns if layout == "columns" else trace_text
                lines.append(render(result.path, p, p.trace, style.full_trace))
                if result.memory_model == "lkmm":
                    lines.append(LKMM_SEQUENTIAL_NOTE if p.trace.sequential else LKMM_TRACE_NOTE)
    return "\n".join(lines)


def _detail(p: PropertyResult) -> str:
    if p.status == VIOLATED and p.trace is not None:
        more = ("" if p.trace.shortest else ", shortest not confirmed") + \
            (", not replayed" if p.trace.unreplayed else "")
        return f"counterexample of {len(p.trace.steps)} steps{more}  ({p.time_s:.2f}s)"
    if p.status == PROVED:
        return f"{p.coverage}  ({p.time_s:.2f}s)"
    if p.status == "vacuous":
        return f"{p.coverage}  ({p.time_s:.2f}s)"
    if p.status == "bounded":
        return f"no violation within the bound, but {p.coverage}  ({p.time_s:.2f}s)"
    return f"{p.reason}  ({p.time_s:.2f}s)"


# NOTE(trace-table): the default layout, a table of steps in 100 columns: the step's number,
# thread and `file:line` (never cut: it would lose its line number), its statement, the C line
# it mirrors (left empty when it repeats the statement) and what it changed. When a row of that
# table would be wider than 100 columns, each step is a block instead: the number, thread,
# location and statement on its first line (the columns still aligned), then the C line
# (`C: ...`) and what changed (`-> ...`) on lines of their own below the statement, each
# wrapped to fit 100 columns at spaces, never inside a word that fits on a line, and never cut.
TABLE_WIDTH = 100
_DETAIL_AT_MOST = 50   # the details start under the statement, or under the location beyond this
_MIN_TEXT = 24         # a statement or detail line is never narrower: a longer location makes the row wider


def trace_text(path: str, p: PropertyResult, trace: Trace, full: bool = False, width: int = TABLE_WIDTH) -> str:
    """A counterexample as a table of steps (NOTE(trace-table)); unless `full`, narrowed
    (NOTE(narrow-traces))."""
    head = f"counterexample: {p.name} ({p.kind}) in {path}, {len(trace.steps)} steps"
    shown = Narrowed(trace.steps, ()) if full else narrow(trace, p.kind == "leak")
    out = [head] + (_one_line_rows(shown.rows, width) or _wrapped_rows(shown.rows, width))
    out += _hidden(shown)
    return "\n".join(out + _trace_end(trace))


def _one_line_rows(steps: tuple[TraceStep, ...], width: int) -> list[str]:
    """The table with a line per step; [] when a line would be wider than `width`."""
    rows = [("#", "thread", "where", "statement", "C", "changes")]
    for s in steps:
        c_line = "" if s.c_line.strip() == s.text.strip() else s.c_line   # said once is enough
        rows.append((str(s.index), s.thread, f"{_short(s.file)}:{s.line}", s.text, c_line, "; ".join(s.changes)))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  " + "  ".join([r[i].ljust(widths[i]) for i in range(5)] + [r[5]]).rstrip() for r in rows]
    return lines if max(len(line) for line in lines) <= width else []


def _wrapped_rows(steps: tuple[TraceStep, ...], width: int) -> list[str]:
    """The table as a block per step (NOTE(trace-table))."""
    fixed = [(str(s.index), s.thread, f"{_short(s.file)}:{s.line}") for s in steps]
    widths = [max([len(h)] + [len(r[i]) for r in fixed]) for i, h in enumerate(("#", "thread", "where"))]
    statement_at = 2 + sum(w + 2 for w in widths)
    detail_at = statement_at if statement_at <= _DETAIL_AT_MOST else 2 + widths[0] + 2 + widths[1] + 2
    lead = " " * detail_at
    out = [("  " + "  ".join(h.ljust(w) for h, w in zip(("#", "thread", "where"), widths)) + "  statement").rstrip()]
    for s, cells in zip(steps, fixed):
        first = _wrap(s.text, max(width - statement_at, _MIN_TEXT))
        out.append("  " + "  ".join(c.ljust(w) for c, w in zip(cells, widths)) + "  " + first[0])
        out += [" " * statement_at + line for line in first[1:]]
        details = []
        if s.c_line and s.c_line.strip() != s.text.strip():
            details.append("C: " + " ".join(s.c_line.split()))
        if s.changes:
            details.append("-> " + "; ".join(s.changes))
        for detail in details:
            out += [lead + line for line in _wrap(detail, max(width - detail_at, _MIN_TEXT), indent="   ")]
    return out


def _trace_end(trace: Trace) -> list[str]:
    """The lines after a counterexample's steps, in either layout: the violation in words, the
    weak-memory notes, and why it was not replayed."""
    out = _wrap(f"  => {trace.violation}", TABLE_WIDTH, indent="     ")
    out += [f"  {line}" for line in trace.memory_order]
    if trace.unreplayed:
        # NOTE(replay) in cli/dispatch.py: the reference interpreter could not check this one
        out += _wrap(f"  not replayed: {trace.unreplayed}", TABLE_WIDTH, indent="    ")
    return out


def _hidden(shown: Narrowed) -> list[str]:
    """The line that counts the steps not shown, wrapped to fit (NOTE(narrow-traces))."""
    return _wrap(shown.hidden_line(), TABLE_WIDTH, indent="   ") if shown.hidden else []


# NOTE(trace-columns): the layout kernel commit messages use for races, one column per CPU and
# time going down, so the interleaving shows at a glance. Only the threads that took a step get
# a column. A cell is the step's `file:line`, its statement, and what it changed (after "->");
# each is wrapped to the column, never cut, so the location keeps its line number whatever the
# path's length. The C line is left out when it repeats the statement. Rows are numbered as in
# the table layout, and the violation follows in words.
COLUMNS_WIDTH = 100


def trace_columns(path: str, p: PropertyResult, trace: Trace, full: bool = False, width: int = COLUMNS_WIDTH) -> str:
    """A counterexample as one column per thread (NOTE(trace-columns)); unless `full`, narrowed
    (NOTE(narrow-traces))."""
    shown = Narrowed(trace.steps, ()) if full else narrow(trace, p.kind == "leak")
    threads = list(dict.fromkeys(s.thread for s in shown.rows))
    number = max(len(str(len(trace.steps))), 1) + 1
    column = max((width - 2 - number) // max(len(threads), 1) - 2, 16)
    out = [f"counterexample: {p.name} ({p.kind}) in {path}, {len(trace.steps)} steps"]

    def row(num: str, cells: dict[int, list[str]]) -> list[str]:
        height = max((len(c) for c in cells.values()), default=1)
        lines = []
        for i in range(height):
            parts = [cells.get(t, [])[i] if i < len(cells.get(t, [])) else "" for t in range(len(threads))]
            lead = num if i == 0 else ""
            lines.append(("  " + lead.ljust(number) + "".join(part.ljust(column + 2) for part in parts)).rstrip())
        return lines

    out += row("#", {t: [name] for t, name in enumerate(threads)})
    out += row("", {t: ["-" * min(column, max(len(name), 4))] for t, name in enumerate(threads)})
    for s in shown.rows:
        cell = _wrap(f"{_short(s.file)}:{s.line}", column) + _wrap(s.text, column)
        if s.c_line and s.c_line.strip() != s.text.strip():
            cell += _wrap(f"C: {s.c_line}", column)
        for change in s.changes:
            cell += _wrap(f"-> {change}", column, indent="   ")
        out += row(str(s.index), {threads.index(s.thread): cell})
    out += _hidden(shown)
    return "\n".join(out + _trace_end(trace))


def _wrap(text: str, width: int, indent: str = "") -> list[str]:
    """`text` in lines of at most `width` characters: at spaces where it can, else inside a
    word; nothing is dropped."""
    return textwrap.wrap(text, width, subsequent_indent=indent, break_long_words=True,
                         break_on_hyphens=False, drop_whitespace=True) or [""]


def _short(file: str) -> str:
    return file


# NOTE(json-schemas): every document a command writes with --json (prove, check, compare, mutate,
# litmus) begins with "schema_version", and ships its JSON Schema (draft 2020-12) in
# objcg_proof/schemas/COMMAND.schema.json, which tests/cli/test_json_schemas.py validates the
# command's output against, error documents included. A value that does not apply (no reason, no
# C line, no record file) is null, never "": an empty string is never written. The schemas are
# closed (additionalProperties false), so any change of a document's shape (a key added, removed,
# renamed or retyped) raises its JSON_SCHEMA_VERSION and its schema's `schema_version` const
# together. `check --json` embeds prove's result rows (`result_json`): a change of those rows
# changes both documents. The ledger's records are versioned by their "format" instead
# (gate/record.py), the cache's entries by theirs (gate/cache.py).
JSON_SCHEMA_VERSION = 1   # of `prove --json` (to_json)


def result_json(result: ModelResult) -> list[dict[str, Any]]:
    """One row per property of `prove --json` (and of `check --json`): absent values are null."""
    out = []
    for p in result.properties:
        out.append({
            "model": result.path,
            "property": p.name,
            "kind": p.kind,
            "status": p.status,
            "bound": p.bound,
            "bound_covered": p.coverage or None,   # what the bound covered; null when nothing is said (unknown)
            "reason": p.reason or None,            # why the status is unknown; null otherwise
            "time_s": round(p.time_s, 4),
            "violation": p.trace.violation if p.trace else None,
            "shortest": p.trace.shortest if p.trace else None,
            "replayed": not p.trace.unreplayed if p.trace else None,
            "not_replayed": p.trace.unreplayed or None if p.trace else None,
            **({"memory_order": list(p.trace.memory_order)} if p.trace and p.trace.memory_order else {}),
            "trace": [
                {"step": s.index, "thread": s.thread, "file": s.file, "line": s.line, "text": s.text,
                 "c": s.c_line or None, "changes": list(s.changes)}   # c: null without a `// C` comment
                for s in (p.trace.steps if p.trace else ())
            ],
        })
    return out


def to_json(results: list[ModelResult], errors: list[dict[str, Any]]) -> str:
    """`prove --json`: {"schema_version", "results", "models", "errors"} (NOTE(json-schemas)), on
    every outcome: a bad command line or an internal error gives it with `errors` filled."""
    props = [row for r in results for row in result_json(r)]
    models = [{"model": r.path, "bound": r.bound, "time_s": round(r.time_s, 4), "stats": r.stats,
               **({"memory_model": r.memory_model} if r.memory_model != "sc" else {})} for r in results]
    return json.dumps({"schema_version": JSON_SCHEMA_VERSION, "results": props, "models": models, "errors": errors},
                      indent=2)
