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
from .terms import Term, evaluate, symbols
from .verdict import Trace, TraceStep, WeakEvent, WeakExecution


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
    row_of: dict[int, int] = {}   # step id -> its row
    acquires: dict[int, list[_Acquire | None]] = {}
    for o in layout.objects:
        if layout.struct(o.struct).refcounted:
            acquires[layout.refcount_location(o.index)] = [_Acquire(0, "", "initial reference", "")]
    weak = bool(view.enc.reads_from)   # an LKMM execution (sequential consistency records no rf)
    for sid in view.executed_steps():
        step = prog.steps[sid]
        thread = prog.threads[step.thread].name
        changes: list[str] = []
        reads: list[str] = []
        touched: tuple[list[str], list[str]] = ([], [])   # the locations it read, and wrote
        step_reads: dict[int, Term] = {}   # location -> what this step read of it
        row = len(rows) + 1
        row_of[sid] = row
        where = f"{step.span.file}:{step.span.line}"
        for eid in step.events:
            ev = prog.events[eid]
            if not view.value(ev.guard):
                continue
            loc = layout.locations[view.value(ev.loc)]
            if ev.read is not None:
                touched[0].append(loc.name)
            if ev.write is not None and view.value(ev.succeeds):
                touched[1].append(loc.name)
            show = (lambda v: render_refcount(v, layout)) if loc.refcount_of is not None else \
                (lambda v, p=loc.type.pointer: render(v, p, layout))
            if ev.write is not None and weak:
                # NOTE(weak-changes): the rows of a weak execution are in no one order, so the
                # value before a write is the one its RMW read, and a plain write just writes
                new = view.value(ev.write)
                memory[loc.id] = new
                read_here = ev.read if ev.read is not None else step_reads.get(loc.id)   # an RMW, `n++`
                if read_here is None:
                    changes.append(f"writes {loc.name} = {show(new)}")
                else:
                    old = view.env.get(read_here.name, 0)
                    changes.append(f"{loc.name} stays {show(new)}" if old == new
                                   else f"{loc.name}: {show(old)} -> {show(new)}")
            elif ev.write is not None:
                old, new = memory[loc.id], view.value(ev.write)
                memory[loc.id] = new
                if old == new:
                    changes.append(f"{loc.name} stays {show(new)}")
                else:
                    changes.append(f"{loc.name}: {show(old)} -> {show(new)}")
            elif ev.read is not None:
                step_reads[loc.id] = ev.read
                reads.append(f"read {loc.name} == {show(view.env.get(ev.read.name, 0))}")
            if loc.refcount_of is not None and ev.what in ("get", "tryget", "tryget_live", "put", "kill"):
                _track_reference(acquires[loc.id], ev.what, ev.write is not None and ev.read is not None and
                                 memory[loc.id] != view.env.get(ev.read.name, 0), thread, row, where)
        for a in step.assigns:
            if view.value(a.live):   # not set after a failed access (NOTE(failed-access))
                chosen = f" (nondet() at line {a.chosen_at})" if a.chosen_at else ""   # NOTE(nondet-choices)
                changes.append(f"{a.name} = {render(view.value(a.value), a.pointer, layout)}{chosen}")
        if not changes:
            changes = reads
        if view.value(step.fails):
            changes.append("failed access: the thread stops here")
        text = sources.line(step.span.file, step.span.line) or ""
        rows.append(TraceStep(row, thread, step.span.file, step.span.line, _strip_comment(text),
                              sources.c_comment(step.span.file, step.span.line), tuple(changes),
                              tuple(dict.fromkeys(touched[0])), tuple(dict.fromkeys(touched[1]))))
    focus: tuple[str, ...] = ()
    if leak:
        violation = _leak_words(view, acquires, violation)
        if not file:
            file, line = _leak_site(view, acquires)
        focus = tuple(layout.locations[layout.refcount_location(o)].name for o, ev_id in prog.refcount_finals
                      if view.env.get(prog.events[ev_id].read.name, 0) & (layout.kill_bit - 1)  # type: ignore[union-attr]
                      != held_at_end(view, o))
    return Trace(tuple(rows), violation, file, line, focus=focus, memory_order=memory_order(view, row_of),
                 graph=execution_graph(view, row_of), execution=weak_execution(view, row_of))


def weak_execution(view: ModelView, row_of: dict[int, int]) -> WeakExecution | None:
    """Under a weak memory model, the counterexample's execution as data (`WeakExecution`), for
    the independent LKMM evaluator to judge (runner/weak_replay.py); None under SC."""
    enc, prog = view.enc, view.prog
    if not enc.reads_from:
        return None
    layout = prog.layout
    keyed: list[tuple[int, tuple[int, int, int, int], WeakEvent, int]] = []   # (thread, program order, event, event id)
    for sid, row in row_of.items():
        st = prog.steps[sid]
        for eid in st.events:
            ev = prog.events[eid]
            if ev.kind == "FINAL" or not view.value(ev.guard):
                continue
            loc = layout.locations[view.value(ev.loc)]
            read = view.env.get(ev.read.name, 0) if ev.read is not None else None
            wrote = ev.kind != "R" and bool(view.value(ev.succeeds))
            written = view.value(ev.write) if ev.write is not None and wrote else None   # type: ignore[arg-type]
            keyed.append((ev.thread, (st.pos, ev.sub, 0, 0), WeakEvent(prog.threads[ev.thread].name, row, ev.kind,
                                                                       loc.name, read, written, ev.mode, ev.what,
                                                                       wrote, loc.ghost), eid))
    for f in prog.fences:
        ran = view.true(enc.executed[f.step]) if f.step >= 0 else view.true(enc.finished[f.thread])
        if ran and view.value(f.guard):
            pos = prog.steps[f.step].pos if f.step >= 0 else prog.threads[f.thread].positions
            keyed.append((f.thread, (pos, f.sub, -1, f.id), WeakEvent(prog.threads[f.thread].name, 0, "F", "", None,
                                                                      None, f.mode, f.what), -1))
    keyed.sort(key=lambda k: (k[0], k[1]))
    index = {eid: i for i, (_, _, _, eid) in enumerate(keyed) if eid >= 0}
    events = tuple(e for _, _, e, _ in keyed)
    touched = sorted({layout.locations[view.value(prog.events[eid].loc)].name: view.value(prog.events[eid].loc)
                      for eid in index}.items())
    initial = tuple((name, layout.locations[loc].init) for name, loc in touched)
    reads_from = tuple(sorted((index[r], index[w] if w >= 0 else -1) for (w, r), v in enc.reads_from.items()
                              if r in index and (w < 0 or w in index) and view.true(v)))
    by_loc: dict[str, list[tuple[int, int]]] = {}
    for w, clock in enc.coherence.items():
        if w in index and events[index[w]].kind != "R" and events[index[w]].wrote:
            by_loc.setdefault(events[index[w]].loc, []).append((view.int(clock), index[w]))
    coherence = tuple((loc, tuple(i for _, i in sorted(ws))) for loc, ws in sorted(by_loc.items()))
    reads = [(j, prog.events[eid]) for eid, j in index.items() if prog.events[eid].read is not None]
    deps = []
    for eid, i in index.items():
        ev = prog.events[eid]
        uses = [(kind, {id(x) for x in syms}) for kind, syms in
                (("addr", _syms(ev.loc)), ("data", _syms(ev.write)), ("ctrl", ev.ctrl))]
        for j, a in reads:
            if a.thread == ev.thread and j < i:
                deps += [(kind, j, i) for kind, ids in uses if id(a.read) in ids]
    return WeakExecution(events, initial, reads_from, coherence, tuple(sorted(deps)))


def execution_graph(view: ModelView, row_of: dict[int, int]) -> str:
    """Under a weak memory model, the counterexample's execution as `herd7 -show prop -gv` draws
    one: a column per thread of its events in program order (po, black), the write each read
    took its value from (rf, red), each location's coherence order (co, blue); "" under SC."""
    enc, prog = view.enc, view.prog
    if not enc.reads_from:
        return ""
    layout = prog.layout

    def shown(loc_id: int, v: int) -> str:
        loc = layout.locations[loc_id]
        return render(v, loc.type.pointer, layout)

    lines = [f'digraph "{_dot(prog.path)}" {{', "  node [shape=box, fontname=monospace];"]
    events: dict[int, str] = {}
    by_thread: dict[int, list[tuple[tuple[int, int], int]]] = {}
    for sid, row in row_of.items():
        for eid in prog.steps[sid].events:
            ev = prog.events[eid]
            if not view.value(ev.guard):
                continue
            loc = view.value(ev.loc)
            name = layout.locations[loc].name
            if ev.kind == "R":
                label = f"{name} == {shown(loc, view.env.get(ev.read.name, 0))}"   # type: ignore[union-attr]
            else:
                label = f"{name} = {shown(loc, view.value(ev.write))}"   # type: ignore[arg-type]
            events[eid] = f"row {row}: {ev.kind}[{ev.mode}] {label}"
            by_thread.setdefault(ev.thread, []).append(((prog.steps[sid].pos, ev.sub), eid))
    for t, evs in sorted(by_thread.items()):
        evs.sort()
        lines.append(f'  subgraph cluster_{t} {{ label="{_dot(prog.threads[t].name)}";')
        lines += [f'    e{eid} [label="{_dot(events[eid])}"];' for _, eid in evs]
        lines += [f"    e{a} -> e{b} [label=po];" for (_, a), (_, b) in zip(evs, evs[1:])]
        lines.append("  }")
    inits = set()
    for (w, r), v in enc.reads_from.items():
        if r in events and view.true(v):
            if w < 0:
                inits.add(-1 - w)
                lines.append(f"  init{-1 - w} -> e{r} [label=rf, color=red, fontcolor=red];")
            elif w in events:
                lines.append(f"  e{w} -> e{r} [label=rf, color=red, fontcolor=red];")
    by_loc: dict[int, list[tuple[int, int]]] = {}
    for w, clock in enc.coherence.items():
        ev = prog.events[w]
        if w in events and view.value(ev.succeeds):
            by_loc.setdefault(view.value(ev.loc), []).append((view.int(clock), w))
    for loc_id, ws in sorted(by_loc.items()):
        inits.add(loc_id)
        chain = [f"init{loc_id}"] + [f"e{w}" for _, w in sorted(ws)]
        lines += [f"  {a} -> {b} [label=co, color=blue, fontcolor=blue];" for a, b in zip(chain, chain[1:])]
    for loc_id in sorted(inits):
        loc = layout.locations[loc_id]
        lines.append(f'  init{loc_id} [label="{_dot(f"the initial {loc.name} = {shown(loc_id, loc.init)}")}", '
                     "shape=plaintext];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def memory_order(view: ModelView, row_of: dict[int, int]) -> tuple[str, ...]:
    """Under a weak memory model: the write each read of the trace took its value from, and each
    written location's coherence order, by trace row (empty under sequential consistency)."""
    enc, prog = view.enc, view.prog
    if not enc.reads_from:
        return ()
    layout = prog.layout

    def writer(w: int) -> str:
        if w < 0:
            loc = layout.locations[-1 - w]
            return f"the initial {loc.name} = {render(loc.init, loc.type.pointer, layout)}"
        ev = prog.events[w]
        return f"row {row_of.get(ev.step, '?')} ({prog.threads[ev.thread].name})"

    lines = []
    saw = sorted(((row_of[prog.events[r].step], prog.events[r].sub, w, r) for (w, r), v in enc.reads_from.items()
                  if prog.events[r].step in row_of and view.true(v)))
    for row, _, w, r in saw:
        ev = prog.events[r]
        loc = layout.locations[view.value(ev.loc)]
        value = render(view.env.get(ev.read.name, 0), loc.type.pointer, layout)   # type: ignore[union-attr]
        lines.append(f"row {row} read {loc.name} == {value} from {writer(w)}")
    by_loc: dict[int, list[tuple[int, int]]] = {}
    for w, clock in enc.coherence.items():
        ev = prog.events[w]
        if ev.step in row_of and view.true(enc.event_executed[w]) and view.value(ev.succeeds):
            by_loc.setdefault(view.value(ev.loc), []).append((view.int(clock), w))
    for loc_id in sorted(by_loc):
        loc = layout.locations[loc_id]
        order = [f"the initial {render(loc.init, loc.type.pointer, layout)}"]
        order += [f"{render(view.value(prog.events[w].write), loc.type.pointer, layout)} by {writer(w)}"   # type: ignore[arg-type]
                  for _, w in sorted(by_loc[loc_id])]
        lines.append(f"coherence of {loc.name}: " + " -> ".join(order))
    return tuple(lines) + unordered_pairs(view, row_of)


# fences that order a pair of accesses of these kinds (linux-kernel.cat: rmb orders reads, wmb
# writes, mb and synchronize_rcu everything)
_ORDERS = {("R", "R"): {"mb", "rmb", "sync-rcu"}, ("W", "W"): {"mb", "wmb", "sync-rcu"},
           ("R", "W"): {"mb", "sync-rcu"}, ("W", "R"): {"mb", "sync-rcu"}}


def unordered_pairs(view: ModelView, row_of: dict[int, int]) -> tuple[str, ...]:
    """A hint for an LKMM counterexample, in a kernel developer's words: each two accesses of one
    thread, to different locations, one after the other in the trace, that nothing orders
    (no fence of a kind that orders them between them, no acquire on the first, no release on
    the second, a ghost read or write being one, no fully ordered RMW, no address, data or
    control dependency). The LKMM may still order such a pair another way (cumulativity, RCU);
    it is where a barrier would go."""
    prog = view.prog
    layout = prog.layout
    accesses: dict[int, list] = {}
    for sid, row in row_of.items():
        for eid in prog.steps[sid].events:
            ev = prog.events[eid]
            if view.value(ev.guard) and ev.kind != "FINAL":
                accesses.setdefault(ev.thread, []).append((prog.steps[sid].pos, ev.sub, row, ev))
    fences: dict[int, list] = {}
    for f in prog.fences:
        ran = view.true(view.enc.executed[f.step]) if f.step >= 0 else True
        if ran and view.value(f.guard):
            pos = prog.steps[f.step].pos if f.step >= 0 else prog.threads[f.thread].positions
            fences.setdefault(f.thread, []).append(((pos, f.sub), f.mode))
    out = []
    for thread, evs in accesses.items():
        evs.sort(key=lambda x: (x[0], x[1]))
        for (pa, sa, ra, a), (pb, sb, rb, b) in zip(evs, evs[1:]):
            la, lb = view.value(a.loc), view.value(b.loc)
            if la == lb or ra == rb:
                continue
            ka = "R" if a.kind == "R" else "W"
            kb = "R" if b.kind == "R" else "W"
            between = {tag for (at, tag) in fences.get(thread, []) if (pa, sa) < at <= (pb, sb)}
            # a ghost read is an acquire and a ghost write a release (NOTE(ghost-lkmm) in prove/lkmm.py)
            acquire = a.mode == "acquire" or (layout.locations[la].ghost and a.kind in ("R", "RMW"))
            release = b.mode == "release" or (layout.locations[lb].ghost and b.kind in ("W", "RMW"))
            ordered = (between & _ORDERS[(ka, kb)] or _full(a) or _full(b) or acquire or release
                       or (a.kind == "RMW" and "after-atomic" in between)
                       or (b.kind == "RMW" and "before-atomic" in between)
                       or (a.read is not None and any(x is a.read for x in (*_syms(b.loc), *_syms(b.write), *b.ctrl))))
            if not ordered:
                name = prog.threads[thread].name
                what = {"R": "read", "W": "write"}
                out.append(f"nothing orders {name}'s {what[ka]} of {layout.locations[la].name} (row {ra}) before "
                           f"its {what[kb]} of {layout.locations[lb].name} (row {rb})")
    return tuple(out)


def _full(ev) -> bool:  # type: ignore[no-untyped-def]
    """A fully ordered RMW (a value-returning atomic; put, kill and the trygets of a refcount)."""
    return ev.mode == "mb" or (ev.mode == "ref" and ev.what != "get")


def _syms(t: Term | None) -> list:
    return symbols(t) if t is not None else []


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
