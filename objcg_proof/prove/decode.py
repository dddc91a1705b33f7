"""Decode stage: a z3 model of a violation -> a `verdict.Trace` a kernel developer can read.

Input: the encoding, the model, and the source cache (for statement text and C-line comments).
Output: plain data; no z3 object leaves this module. Steps are listed in clock order; each row
says what changed (locations written, locals set) with values printed symbolically.
"""

from __future__ import annotations

from dataclasses import dataclass

import z3

from ..lang.diagnostics import SourceCache
from ..lang.values import render, render_refcount
from .encode import Encoding
from .events import EventProgram
from .terms import Term, evaluate
from .verdict import Trace, TraceStep


@dataclass(frozen=True)
class _Acquire:
    """A reference taken in a trace, for the leak's explanation: which row, thread and object."""

    row: int
    thread: str
    what: str
    where: str


class ModelView:
    """Concrete values of one z3 model."""

    def __init__(self, enc: Encoding, model: z3.ModelRef) -> None:
        self.enc = enc
        self.model = model
        self.prog: EventProgram = enc.program
        self.env: dict[str, int] = {}
        for name, sym in enc.symbols.items():
            self.env[name] = model.eval(sym, model_completion=True).as_long()  # type: ignore[attr-defined]
        self._memo: dict[int, int] = {}

    def value(self, t: Term) -> int:
        return evaluate(t, self.env, self.prog.width, self._memo)

    def true(self, b: z3.BoolRef) -> bool:
        return z3.is_true(self.model.eval(b, model_completion=True))

    def int(self, x: z3.ArithRef) -> int:
        return self.model.eval(x, model_completion=True).as_long()  # type: ignore[attr-defined,no-any-return]

    def executed_steps(self) -> list[int]:
        ran = [sid for sid, ex in self.enc.executed.items() if self.true(ex)]
        steps = self.prog.steps
        return sorted(ran, key=lambda sid: (self.int(self.enc.step_clock[sid]), steps[sid].thread, steps[sid].pos))

    def step_count(self) -> int:
        return len([1 for ex in self.enc.executed.values() if self.true(ex)])


def decode_trace(view: ModelView, sources: SourceCache, violation: str, file: str = "", line: int = 0,
                 leak: bool = False) -> Trace:
    prog = view.prog
    layout = prog.layout
    memory = {loc.id: loc.init for loc in layout.locations}
    rows: list[TraceStep] = []
    acquires: dict[int, list[_Acquire | None]] = {}
    for o in layout.objects:
        if layout.struct(o.struct).refcounted:
            acquires[layout.refcount_location(o.index)] = [_Acquire(0, "", "initial reference", "")]
    for sid in view.executed_steps():
        step = prog.steps[sid]
        thread = prog.threads[step.thread].name
        changes: list[str] = []
        reads: list[str] = []
        row = len(rows) + 1
        where = f"{step.span.file}:{step.span.line}"
        for eid in step.events:
            ev = prog.events[eid]
            if not view.value(ev.guard):
                continue
            loc = layout.locations[view.value(ev.loc)]
            show = (lambda v: render_refcount(v, layout)) if loc.refcount_of is not None else \
                (lambda v, p=loc.type.pointer: render(v, p, layout))
            if ev.write is not None:
                old, new = memory[loc.id], view.value(ev.write)
                memory[loc.id] = new
                if old == new:
                    changes.append(f"{loc.name} stays {show(new)}")
                else:
                    changes.append(f"{loc.name}: {show(old)} -> {show(new)}")
            elif ev.read is not None:
                reads.append(f"read {loc.name} == {show(view.env.get(ev.read.name, 0))}")
            if loc.refcount_of is not None and ev.what in ("get", "tryget", "tryget_live", "put", "kill"):
                _track_reference(acquires[loc.id], ev.what, ev.write is not None and ev.read is not None and
                                 memory[loc.id] != view.env.get(ev.read.name, 0), thread, row, where)
        for a in step.assigns:
            if view.value(a.live):   # not set after a failed access (NOTE(failed-access))
                changes.append(f"{a.name} = {render(view.value(a.value), a.pointer, layout)}")
        if not changes:
            changes = reads
        if view.value(step.fails):
            changes.append("failed access: the thread stops here")
        text = sources.line(step.span.file, step.span.line) or ""
        rows.append(TraceStep(row, thread, step.span.file, step.span.line, _strip_comment(text),
                              sources.c_comment(step.span.file, step.span.line), tuple(changes)))
    if leak:
        violation = _leak_words(view, acquires, violation)
        if not file:
            file, line = _leak_site(view, acquires)
    return Trace(tuple(rows), violation, file, line)


def _leak_site(view: ModelView, acquires: dict[int, list[_Acquire | None]]) -> tuple[str, int]:
    """Where a leak is located (for tools that place a finding on one line, e.g. SARIF): the
    first reference taken and never released, of an object that ends with a count; ("", 0) when
    only initial references remain (the object was never killed)."""
    layout = view.prog.layout
    for obj_index, ev_id in view.prog.refcount_finals:
        ev = view.prog.events[ev_id]
        if view.env.get(ev.read.name, 0) & (layout.kill_bit - 1) <= held_at_end(view, obj_index):  # type: ignore[union-attr]
            continue
        for a in acquires[layout.refcount_location(obj_index)]:
            if a is not None and a.what != "initial reference":
                file, _, line = a.where.rpartition(":")
                return file, int(line)
    return "", 0


def _track_reference(held: list[_Acquire | None], what: str, changed: bool, thread: str, row: int, where: str) -> None:
    """Match references taken and dropped, last in first out: a put drops the latest reference
    still held, whichever thread took it; kill drops the initial reference. So a take is left
    unmatched exactly when, from that step on, the object's count (less its initial reference)
    never falls back to its level before the take: a fact of the trace, not a guess at which
    pointer owned which reference (the count does not say)."""
    if what in ("get", "tryget", "tryget_live"):
        if changed or what == "get":
            held.append(_Acquire(row, thread, what, where))
        return
    live = [i for i, a in enumerate(held) if a is not None]
    if not live:
        return
    if what == "kill" and held[0] is not None and held[0].what == "initial reference":
        held[0] = None
        return
    held[live[-1]] = None


def held_at_end(view: ModelView, obj_index: int) -> int:
    """How many of the final block's `holds` name the object at the end of this execution."""
    address = view.prog.layout.objects[obj_index].address
    return sum(1 for p in view.prog.holds if view.value(p) == address)


def _leak_words(view: ModelView, acquires: dict[int, list[_Acquire | None]], violation: str) -> str:
    prog = view.prog
    layout = prog.layout
    parts = []
    for obj_index, ev_id in prog.refcount_finals:
        ev = prog.events[ev_id]
        final = view.env.get(ev.read.name, 0) & (layout.kill_bit - 1)  # type: ignore[union-attr]
        kept = held_at_end(view, obj_index)
        name = layout.objects[obj_index].name
        if final < kept:
            parts.append(f"{name} ends with count {final}, but the final block holds {kept} reference(s) on it: "
                         "a held reference was dropped")
            continue
        if final == kept:
            continue
        if kept:
            name += f" (of which the final block holds {kept})"
        held = [a for a in acquires[layout.refcount_location(obj_index)] if a is not None]
        who = "; ".join(
            "the initial reference (the object was never killed)" if a.what == "initial reference"
            else f"the reference taken by {a.what}() at step {a.row} (thread {a.thread}, {a.where})"
            for a in held)
        takes = sum(1 for a in held if a.what != "initial reference")
        after = "" if not takes else "; after that take" if takes == 1 else "; after each of these takes"
        parts.append(f"{name} ends with count {final}: never released: {who or 'unknown'}"
                     + (f"{after} the count never fell back to its level before it" if after else ""))
    return violation + ": " + "; ".join(parts) if parts else violation


def _strip_comment(text: str) -> str:
    idx = text.find("//")
    if idx >= 0:
        text = text[:idx]
    return " ".join(text.split())


def blocked_threads(view: ModelView) -> list[str]:
    """For a deadlock: each blocked thread and the line it waits at."""
    prog = view.prog
    out = []
    for th in prog.threads:
        stop = view.int(view.enc.stop[th.index])
        for sid in th.steps:
            st = prog.steps[sid]
            if st.enabled_final is not None and st.pos == stop and view.value(st.guard) and \
                    view.true(view.enc.got_to(th.index, st.pos)):
                out.append(f"{th.name} waits forever at {st.span.file}:{st.span.line}")
        for spin in prog.spins:
            if spin.thread == th.index and spin.pos == stop and view.value(spin.goes_round) and \
                    view.true(view.enc.got_to(th.index, spin.pos)):
                out.append(f"{th.name} spins forever in the loop at {spin.span.file}:{spin.span.line}")
    return out


def cut_loops(view: ModelView) -> set[tuple[int, str, int]]:
    """For a coverage gap: the loops some thread wanted to run past the bound, as (thread, file,
    line) of the loop."""
    prog = view.prog
    out = set()
    for st in prog.steps:
        if st.is_cut and view.value(st.guard) and view.true(view.enc.stopped_at(st.thread, st.pos)):
            out.add((st.thread, st.span.file, st.span.line))
    return out
