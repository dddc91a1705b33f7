"""Report stage: verdicts -> text for a terminal, or JSON for machines.

Text: one line per property with its status, what the bound covered and the time; then each
counterexample as a table (step, thread, file:line, statement, C line, what changed) ending
with the violated property in words, and a "not replayed" line when the reference interpreter
gave up replaying it (NOTE(replay) in cli/dispatch.py). JSON: see `to_json` (documented in the README).
"""

from __future__ import annotations

import json
import os
from typing import Any, TextIO

from ..prove.verdict import PROVED, VIOLATED, ModelResult, PropertyResult, Trace

_STATUS_WORD = {"proved": "proved", "bounded": "BOUNDED", "violated": "VIOLATED", "unknown": "UNKNOWN",
                "vacuous": "VACUOUS"}


# NOTE(lkmm-models) in prove/verify.py: an LKMM counterexample has no one order of its steps
LKMM_TRACE_NOTE = ("  (an LKMM execution: the rows follow each thread's program order, interleaved in one order of "
                   "no meaning;\n   each read shows the value it returned, which may be older than a write "
                   "listed above it;\n   a write the value it wrote, an RMW the value it read and the one it wrote)")


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


def model_text(result: ModelResult, show_traces: bool = True) -> str:
    model = ", under the LKMM" if result.memory_model == "lkmm" else ""
    lines = [f"{result.path}  (bound {result.bound}{model}, {result.time_s:.2f}s)"]
    width = max((len(p.name) for p in result.properties), default=8)
    for p in result.properties:
        lines.append(f"  {p.name:<{width}}  {p.kind:<11}  {_STATUS_WORD[p.status]:<8}  {_detail(p)}")
    if show_traces:
        for p in result.properties:
            if p.status == VIOLATED and p.trace is not None:
                lines.append("")
                lines.append(trace_text(result.path, p, p.trace))
                if result.memory_model == "lkmm":
                    lines.append(LKMM_TRACE_NOTE)
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


def trace_text(path: str, p: PropertyResult, trace: Trace) -> str:
    head = f"counterexample: {p.name} ({p.kind}) in {path}, {len(trace.steps)} steps"
    rows = [("#", "thread", "where", "statement", "C", "changes")]
    for s in trace.steps:
        where = f"{_short(s.file)}:{s.line}"
        rows.append((str(s.index), s.thread, where, s.text, s.c_line, "; ".join(s.changes)))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    widths = [min(w, cap) for w, cap in zip(widths, (4, 12, 28, 48, 48))]
    out = [head]
    for r in rows:
        cells = [_fit(r[i], widths[i]) for i in range(5)] + [r[5]]
        out.append("  " + "  ".join(cells).rstrip())
    out.append(f"  => {trace.violation}")
    for line in trace.memory_order:
        out.append(f"  {line}")
    if trace.unreplayed:
        # NOTE(replay) in cli/dispatch.py: the reference interpreter could not check this one
        out.append(f"  not replayed: {trace.unreplayed}")
    return "\n".join(out)


def _short(file: str) -> str:
    return file


def _fit(text: str, width: int) -> str:
    if len(text) > width:
        return text[: width - 1] + "…"
    return text.ljust(width)


def result_json(result: ModelResult) -> list[dict[str, Any]]:
    out = []
    for p in result.properties:
        out.append({
            "model": result.path,
            "property": p.name,
            "kind": p.kind,
            "status": p.status,
            "bound": p.bound,
            "bound_covered": p.coverage,
            "reason": p.reason,
            "time_s": round(p.time_s, 4),
            "violation": p.trace.violation if p.trace else None,
            "shortest": p.trace.shortest if p.trace else None,
            "replayed": not p.trace.unreplayed if p.trace else None,
            "not_replayed": p.trace.unreplayed or None if p.trace else None,
            **({"memory_order": list(p.trace.memory_order)} if p.trace and p.trace.memory_order else {}),
            "trace": [
                {"step": s.index, "thread": s.thread, "file": s.file, "line": s.line, "text": s.text,
                 "c": s.c_line, "changes": list(s.changes)}
                for s in (p.trace.steps if p.trace else ())
            ],
        })
    return out


def to_json(results: list[ModelResult], errors: list[dict[str, Any]]) -> str:
    props = [row for r in results for row in result_json(r)]
    models = [{"model": r.path, "bound": r.bound, "time_s": round(r.time_s, 4), "stats": r.stats,
               **({"memory_model": r.memory_model} if r.memory_model != "sc" else {})} for r in results]
    return json.dumps({"results": props, "models": models, "errors": errors}, indent=2)
