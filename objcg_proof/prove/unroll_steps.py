"""Steps and events bookkeeping of the unroll stage (prove/unroll.py drives it).

What the unrolling of every thread produces (`Collector`: steps, events, check sites, nondet
choices), where one thread's symbolic execution stands (`ThreadState`: path guard, locals,
position, the step being built), and how a unit of code becomes an atomic step (`StepRecorder`:
the pending step, its events, waits and check sites, failed-access guards, and the wait
condition on the final memory that deadlock asks about, `on_final_memory`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, TypeVar

from ..lang import ir
from ..lang.diagnostics import Span
from .events import FENCE, FINAL, READ, RMW, Assignment, Check, Event, SpinWait, Step, ThreadSteps
from .terms import FALSE, TRUE, WORD, Const, Sym, Term, TermBuilder, substitute

R = TypeVar("R")

# a wait condition's nondet choices are tried one by one up to this many combinations
# (on_final_memory; beyond, the wait is not exact: NOTE(wide-wait) in prove/verify.py)
MAX_WAIT_CHOICES = 256

Env = dict[int, Term]


@dataclass
class Frame:
    """An enclosing construct being unrolled: where its breaks, continues and returns go."""

    kind: str                     # if | loop | body | proc | thread
    escaped: bool = False
    breaks: list[tuple[Term, Env]] = field(default_factory=list)
    conts: list[tuple[Term, Env]] = field(default_factory=list)
    returns: list[tuple[Term, Env, Term | None]] = field(default_factory=list)


@dataclass
class EventSpec:
    """An event of the step being built, before it gets its id."""

    kind: str
    loc: Term
    cands: tuple[int, ...]
    read: Sym | None
    write: Term | None
    guard: Term
    mode: str
    what: str
    succeeds: Term = TRUE
    ctrl: tuple[Sym, ...] = ()
    span: Span | None = None   # a fence's
    origin: Term = TRUE        # a fence's path guard at its statement
    instance: int = -1         # a fence's statement as unrolled


@dataclass
class PendingStep:
    """The step being built: its events, assignments, checks and wait condition so far."""

    span: Span
    entry: Term
    events: list[EventSpec] = field(default_factory=list)
    assigns: list[Assignment] = field(default_factory=list)
    checks: list[tuple[str, str, Term, Term, Span, str]] = field(default_factory=list)
    enabled: Term | None = None
    # guards under which the unit is a step although no event happens: a failed access (bad
    # pointer or index: the thread still tried to touch memory) and a wait it reaches
    step_guards: list[Term] = field(default_factory=list)
    fails: list[Term] = field(default_factory=list)   # each failed access: when it fails
    nondets: list[tuple[Sym, int | None]] = field(default_factory=list)
    fences: list[tuple[int, EventSpec]] = field(default_factory=list)   # in an atomic block: (events before it, fence)


@dataclass
class ThreadState:
    """Where the symbolic execution of one thread stands; shared by its control flow (prove/unroll.py),
    its expressions (unroll_exprs.py) and its steps (StepRecorder)."""

    index: int
    thread: ir.Thread
    g: Term = TRUE              # path guard
    cg: Term = TRUE             # guard of the sub-expression being evaluated
    env: Env = field(default_factory=dict)
    pos: int = 0
    frames: list[Frame] = field(default_factory=list)
    pending: PendingStep | None = None
    in_atomic: bool = False
    step_ids: list[int] = field(default_factory=list)
    nest: list[tuple[str, Span]] = field(default_factory=list)   # the loops and calls being unrolled, outermost first
    fences: list[EventSpec] = field(default_factory=list)   # fences waiting for a step to ride with (NOTE(fence-events))
    ctrl: tuple[Sym, ...] = ()  # the reads the branches so far tested: every later event depends on them
    choices: list[Assignment] = field(default_factory=list)   # NOTE(nondet-choices): shown with the next step


class Collector:
    """What the unrolling of all threads has produced so far: steps, events, check sites and
    nondet choices, numbered in one sequence each, and the fresh symbols and the count of
    what was unrolled (NOTE(unroll-limit) in prove/unroll.py)."""

    def __init__(self, prog: ir.Program) -> None:
        self.prog = prog
        self.layout = prog.layout
        self.tb = TermBuilder(prog.layout.width)
        self.steps: list[Step] = []
        self.events: list[Event] = []
        self.fences: list[Event] = []
        self.fence_instances = 0
        self.checks: list[Check] = []
        self.nondets: list[tuple[str, int | None]] = []
        self.sym_count = 0
        self.threads: list[ThreadSteps] = []
        self.spins: list[SpinWait] = []
        self.wait_loops: dict[tuple[str, int], str] = {}   # lang/spin_loops.py, `wait_like_reason`
        self.unrolled = 0   # statements evaluated and loop iterations started (NOTE(unroll-limit) in prove/unroll.py)

    def add_fence(self, spec: EventSpec, thread: int, step: int, sub: int) -> None:
        """A fence event, in `fences` (NOTE(fence-events)); `sub`: the events of its step before it."""
        self.fences.append(Event(len(self.fences), thread, step, sub, FENCE, spec.loc, (), None, None, spec.guard,
                                 spec.mode, spec.what, TRUE, spec.ctrl, spec.span, spec.origin, spec.instance))

    def fresh(self, prefix: str) -> Sym:
        self.sym_count += 1
        return self.tb.sym(WORD, f"{prefix}{self.sym_count}")

    def add_event(self, spec: EventSpec, thread: int, step: int, sub: int) -> int:
        ev = Event(len(self.events), thread, step, sub, spec.kind, spec.loc, spec.cands, spec.read,
                   spec.write, spec.guard, spec.mode, spec.what, spec.succeeds, spec.ctrl)
        self.events.append(ev)
        return ev.id


class StepRecorder:
    """Builds one thread's steps: a unit of code (a statement, or an `atomic { }` block) is
    evaluated with a pending step open, and its shared accesses, waits and checks go to it; at
    its end it becomes a step (or, when it touched no memory, its checks stay between steps)."""

    def __init__(self, u: Collector, s: ThreadState) -> None:
        self.u = u
        self.tb = u.tb
        self.s = s

    def end_step(self) -> None:
        p = self.s.pending
        assert p is not None
        self.s.pending = None
        tb = self.tb
        if not p.events and p.enabled is None and not p.step_guards:
            # NOTE(nondet-choices): a unit that touched no memory is no step, so what it set is not
            # shown; but a nondet() choice is the execution's own decision, which a reader of the
            # trace must see: its assignments ride with the thread's next step, marked with the
            # line that chose, and shown only on a path that made the choice
            if p.nondets:
                self.s.choices.extend(replace(a, live=tb.and_(a.live, self.s.g), chosen_at=p.span.line)
                                      for a in p.assigns)
            for kind, label, guard, cond, span, msg in p.checks:
                self.add_check(kind, label, guard, cond, None, span, msg)
                if kind == "assume":
                    # NOTE(pure-assume): a false assume in a local unit stops the thread there:
                    # nothing after it runs (its path guard includes the assumption), and the
                    # thread is not finished (prove/encode.py: finished needs every such assume true)
                    self.s.g = tb.and_(self.s.g, tb.or_(tb.not_(guard), cond))
                    for f in self.s.frames:
                        f.escaped = True
            return
        guard = tb.or_(*[e.guard for e in p.events], *p.step_guards)
        step_id = len(self.u.steps)
        ids = tuple(self.u.add_event(spec, self.s.index, step_id, i) for i, spec in enumerate(p.events))
        for spec in self._fences_riding(guard):
            self.u.add_fence(spec, self.s.index, step_id, 0)
        for before, spec in p.fences:
            self.u.add_fence(spec, self.s.index, step_id, before)
        enabled_final = None
        if p.enabled is not None:
            mapping: dict[int, Term] = {}
            written: dict[int, Term] = {}   # what the step itself wrote, by constant location
            for spec in p.events:
                if spec.read is not None:
                    const_loc = spec.loc.value if isinstance(spec.loc, Const) else None
                    if const_loc is not None and const_loc in written:
                        mapping[id(spec.read)] = written[const_loc]   # it reads its own write
                    else:
                        final = EventSpec(FINAL, spec.loc, spec.cands, self.u.fresh("final"), None, TRUE, "plain",
                                          "final")
                        self.u.add_event(final, self.s.index, -1, 0)
                        mapping[id(spec.read)] = final.read  # type: ignore[assignment]
                if spec.write is not None and isinstance(spec.loc, Const):
                    written[spec.loc.value] = substitute(spec.write, mapping, tb)
            enabled_final, exact = self.on_final_memory(p.enabled, mapping, p.nondets)
        else:
            exact = True
        step = Step(step_id, self.s.index, self.s.pos, guard, ids, p.span, p.enabled, enabled_final, False,
                    (*self.s.choices, *p.assigns), tb.or_(*p.fails), exact)
        self.s.choices.clear()
        self.u.steps.append(step)
        self.s.step_ids.append(step_id)
        self.s.pos += 1
        for kind, label, cguard, cond, span, msg in p.checks:
            self.add_check(kind, label, cguard, cond, step_id, span, msg)

    def fence(self, tag: str, span: Span) -> None:
        """A fence statement (NOTE(fence-events) in prove/events.py): in an atomic block it sits
        between the step's events; otherwise it waits for the thread's next step."""
        self.u.fence_instances += 1
        spec = EventSpec(FENCE, self.tb.word(0), (), None, None, self.s.g, tag, "fence", TRUE, self.s.ctrl, span,
                         self.s.g, self.u.fence_instances)
        if self.s.pending is not None:
            spec.guard = self.s.cg
            self.s.pending.fences.append((len(self.s.pending.events), spec))
        else:
            self.s.fences.append(spec)

    def trailing_fences(self) -> None:
        """The fences still waiting when the thread ends: fences of no step (NOTE(fence-events))."""
        for f in self.s.fences:
            self.u.add_fence(f, self.s.index, -1, 0)
        self.s.fences = []

    def _fences_riding(self, step_guard: Term) -> list[EventSpec]:
        """The waiting fences that ride with a step of this guard; each then waits only on the
        paths this step is not on."""
        tb = self.tb
        riding, waiting = [], []
        for f in self.s.fences:
            riding.append(replace(f))   # this copy keeps the guard it rides with; `f` waits on the rest
            f.guard = tb.and_(f.guard, tb.not_(step_guard))
            if f.guard is not FALSE:
                waiting.append(f)
        self.s.fences = waiting
        return riding

    def on_final_memory(self, enabled: Term, mapping: dict[int, Term],
                        nondets: list[tuple[Sym, int | None]]) -> tuple[Term, bool]:
        """The wait condition on the final memory, and whether it is exact. A nondet in it is
        chosen afresh at every try, so the wait can still succeed if some choice makes it true:
        the result is true when any choice does, trying every value of each nondet when they
        combine to at most MAX_WAIT_CHOICES (an unlimited nondet() has 2^width values: at width 8 it is tried
        alone). Otherwise the choices stay free and the result is not exact: the encoder could
        call blocked a thread that one value of them would let run, so prove/verify.py never shows a
        deadlock that rests on such a wait (NOTE(wide-wait) in prove/verify.py)."""
        tb = self.tb
        small = [(s, n if n is not None else 1 << self.u.layout.width) for s, n in nondets]
        combos = 1
        for _, n in small:
            combos *= n
        if not small:
            return substitute(enabled, mapping, tb), True
        if combos > MAX_WAIT_CHOICES:
            return substitute(enabled, mapping, tb), False
        options: list[dict[int, Term]] = [dict(mapping)]
        for sym, n in small:
            options = [{**m, id(sym): tb.word(v)} for m in options for v in range(n)]
        return tb.or_(*[substitute(enabled, m, tb) for m in options]), True

    def add_check(self, kind: str, label: str, guard: Term, cond: Term, step: int | None, span: Span, msg: str) -> None:
        if guard is FALSE:
            return   # unreachable: a check that folds to true is kept, so vacuity can see it
        self.u.checks.append(Check(len(self.u.checks), kind, label, self.s.index, guard, cond, step, self.s.pos, span,
                                   msg))

    def check(self, kind: str, label: str, cond: Term, span: Span, msg: str, access: bool = False) -> None:
        """A check site; with `access`, `cond` says that an access is valid, and when it is not
        the access fails (NOTE(failed-access) in prove/events.py)."""
        assert self.s.pending is not None
        cond = self.tb.truth(cond)
        self.s.pending.checks.append((kind, label, self.s.cg, cond, span, msg))
        if access:
            self.fail_unless(cond)

    def fail_unless(self, valid: Term) -> None:
        """NOTE(failed-access) in prove/events.py: where the access is not valid, the unit is a step
        (`step_guards`) that fails there (`fails`), and the rest of the step is evaluated only
        where it is valid (`cg`, and `live` for the later statements of an atomic block). The
        guards of the thread's later steps do not change: the encoder stops the thread after
        a step that failed (`Step.fails`), as after a cut, so loops unroll as before."""
        assert self.s.pending is not None
        tb = self.tb
        failed = tb.and_(self.s.cg, tb.not_(valid))
        if failed is FALSE:
            return
        self.s.pending.step_guards.append(failed)
        self.s.pending.fails.append(failed)
        self.s.cg = tb.and_(self.s.cg, valid)

    def live(self) -> Term:
        """The path guard, less the failed accesses of the step so far (NOTE(failed-access))."""
        tb = self.tb
        fails = self.s.pending.fails if self.s.pending is not None else []
        return tb.and_(self.s.g, *[tb.not_(f) for f in fails])

    def narrowed(self, cond: Term, fn: Callable[[], R]) -> R:
        """Evaluate `fn` only where `cond` holds (the right operand of && or ||, a branch of ?:);
        afterwards the guard is the one before, less the failed accesses `fn` made."""
        assert self.s.pending is not None
        tb = self.tb
        saved, before = self.s.cg, len(self.s.pending.fails)
        self.s.cg = tb.and_(saved, cond)
        out = fn()
        self.s.cg = tb.and_(saved, *[tb.not_(f) for f in self.s.pending.fails[before:]])
        return out

    def wait(self, cond: Term) -> None:
        """The step can only run when `cond` holds, if the path reaches this wait."""
        assert self.s.pending is not None
        c = self.tb.implies(self.s.cg, self.tb.truth(cond))
        self.s.pending.enabled = c if self.s.pending.enabled is None else self.tb.and_(self.s.pending.enabled, c)
        self.s.pending.step_guards.append(self.s.cg)

    def event(self, kind: str, loc: Term, cands: tuple[int, ...], write: Term | None, valid: Term, mode: str,
              what: str) -> Sym | None:
        assert self.s.pending is not None
        read = self.u.fresh("v") if kind in (READ, RMW) else None
        guard = self.tb.and_(self.s.cg, valid)
        self.s.pending.events.append(EventSpec(kind, loc, cands, read, write, guard, mode, what, TRUE, self.s.ctrl))
        return read

    def rmw(self, loc: Term, cands: tuple[int, ...], read: Sym, write: Term, valid: Term, mode: str, what: str,
            succeeds: Term = TRUE) -> None:
        """An RMW event; `succeeds`: when it writes (NOTE(fence-events)'s neighbour in events.py)."""
        assert self.s.pending is not None
        guard = self.tb.and_(self.s.cg, valid)
        self.s.pending.events.append(EventSpec(RMW, loc, cands, read, write, guard, mode, what, succeeds,
                                               self.s.ctrl))

    def set_local(self, var: ir.LocalVar, value: Term) -> None:
        self.s.env[var.uid] = value
        if self.s.pending is not None:
            live = self.tb.not_(self.tb.or_(*self.s.pending.fails))
            self.s.pending.assigns.append(Assignment(var.name, value, var.type.pointer, live))

    def spin_wait(self, entry: int, goes_round: Term, steps: list[Step], span: Span) -> SpinWait:
        """NOTE(spin-loop) in prove/unroll.py: the iteration of a spin loop on the final memory.
        Each read of its steps (in order: a later read's address may use an earlier value)
        becomes a FINAL read of its location; where the iteration fails an access the thread
        could move (and fail), so it is not waiting. A spin loop writes nothing and chooses
        nothing (lang/spin_loops.py): the condition is exact."""
        tb = self.tb
        mapping: dict[int, Term] = {}
        for step in steps:
            for ev_id in step.events:
                ev = self.u.events[ev_id]
                if ev.read is not None:
                    loc = substitute(ev.loc, mapping, tb)
                    final = EventSpec(FINAL, loc, ev.cands, self.u.fresh("final"), None, TRUE, "plain", "final")
                    self.u.add_event(final, self.s.index, -1, 0)
                    mapping[id(ev.read)] = final.read  # type: ignore[assignment]
        fails = tb.or_(*[step.fails for step in steps])
        return SpinWait(self.s.index, entry, substitute(tb.and_(goes_round, tb.not_(fails)), mapping, tb), span)

    def cut(self, span: Span) -> None:
        step = Step(len(self.u.steps), self.s.index, self.s.pos, self.s.g, (), span, None, None, True)
        self.u.steps.append(step)
        self.s.step_ids.append(step.id)
        self.s.pos += 1
