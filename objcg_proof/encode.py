"""Encode stage: events.EventProgram -> z3 constraints (sequential consistency).

The encoding is event based (partial-order BMC, as in CBMC's and Dartagnan's): every step gets
an integer clock; an execution is a choice, per thread, of how far it runs (`stop`), plus a
clock order of the steps that respects program order; every read takes its value from the
latest earlier write to the same location (reads-from), or from the initial value. A weaker
memory model replaces only `_memory_model` (docs/semantics.md, "Executions").

Only this module, solver.py and decode.py import z3.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import z3

from .events import FINAL, READ, RMW, WRITE, Check, Event, EventProgram, Step
from .terms import BOOL, App, Const, Sym, Term


@dataclass
class Encoding:
    """The constraints of one model, and the formulas each query asks about."""

    program: EventProgram
    base: list[z3.BoolRef] = field(default_factory=list)
    stop: dict[int, z3.ArithRef] = field(default_factory=dict)
    step_clock: dict[int, z3.ArithRef] = field(default_factory=dict)
    executed: dict[int, z3.BoolRef] = field(default_factory=dict)
    event_executed: dict[int, z3.BoolRef] = field(default_factory=dict)
    symbols: dict[str, z3.BitVecRef] = field(default_factory=dict)
    finished: dict[int, z3.BoolRef] = field(default_factory=dict)

    def reached(self, check: Check) -> z3.BoolRef:
        return self._reached[check.id]

    def violation(self, checks: list[Check]) -> z3.BoolRef:
        return z3.Or([z3.And(self.reached(c), z3.Not(self.term(c.cond))) for c in checks])

    def reachable(self, checks: list[Check]) -> z3.BoolRef:
        """Some execution reaches one of these check sites (vacuity)."""
        return z3.Or([self.reached(c) for c in checks]) if checks else z3.BoolVal(False)

    def all_finished(self) -> z3.BoolRef:
        return z3.And(list(self.finished.values())) if self.finished else z3.BoolVal(True)

    def leak(self) -> z3.BoolRef:
        """Every thread finished, and some refcounted object still holds a reference."""
        prog = self.program
        kill_mask = prog.layout.kill_bit
        leaks = []
        for _, ev_id in prog.refcount_finals:
            v = self.symbols[prog.events[ev_id].read.name]  # type: ignore[union-attr]
            leaks.append((v & z3.BitVecVal(~kill_mask & ((1 << prog.width) - 1), prog.width)) != 0)
        return z3.And(self.all_finished(), z3.Or(leaks)) if leaks else z3.BoolVal(False)

    def deadlock(self) -> z3.BoolRef:
        """Every thread finished or blocked forever, and at least one blocked."""
        prog = self.program
        parts, any_blocked = [], []
        for th in prog.threads:
            blocked = []
            for sid in th.steps:
                st = prog.steps[sid]
                if st.enabled_final is not None:
                    blocked.append(z3.And(self.term(st.guard), self.stop[th.index] == st.pos,
                                          z3.Not(self.term(st.enabled_final))))
            b = z3.Or(blocked) if blocked else z3.BoolVal(False)
            parts.append(z3.Or(self.finished[th.index], b))
            any_blocked.append(b)
        return z3.And(z3.And(parts), z3.Or(any_blocked))

    def coverage_gap(self) -> z3.BoolRef:
        """Some thread reached a cut: the bound did not cover this execution."""
        gaps = [z3.And(self.term(st.guard), self.stop[st.thread] == st.pos) for st in self.program.steps if st.is_cut]
        return z3.Or(gaps) if gaps else z3.BoolVal(False)

    def at_most_steps(self, n: int) -> z3.BoolRef:
        return z3.PbLe([(ex, 1) for ex in self.executed.values()], n)

    # ---- terms
    def term(self, t: Term) -> z3.ExprRef:
        hit = self._memo.get(id(t))
        if hit is not None:
            return hit
        out = self._translate(t)
        self._memo[id(t)] = out
        return out

    def _translate(self, t: Term) -> z3.ExprRef:
        w = self.program.width
        if isinstance(t, Const):
            return z3.BoolVal(bool(t.value)) if t.sort == BOOL else z3.BitVecVal(t.value, w)
        if isinstance(t, Sym):
            sym = self.symbols.get(t.name)
            if sym is None:
                sym = self.symbols[t.name] = z3.BitVec(t.name, w)
            return sym
        assert isinstance(t, App)
        a = [self.term(x) for x in t.args]
        op = t.op
        return _OPS[op](a)

    def __post_init__(self) -> None:
        self._memo: dict[int, z3.ExprRef] = {}
        self._reached: dict[int, z3.BoolRef] = {}


_OPS = {
    "+": lambda a: a[0] + a[1], "-": lambda a: a[0] - a[1], "*": lambda a: a[0] * a[1],
    "/": lambda a: z3.UDiv(a[0], a[1]), "%": lambda a: z3.URem(a[0], a[1]),
    "&": lambda a: a[0] & a[1], "|": lambda a: a[0] | a[1], "^": lambda a: a[0] ^ a[1],
    "<<": lambda a: a[0] << a[1], ">>": lambda a: z3.LShR(a[0], a[1]), "~": lambda a: ~a[0],
    "neg": lambda a: -a[0], "ite": lambda a: z3.If(a[0], a[1], a[2]),
    "==": lambda a: a[0] == a[1], "!=": lambda a: a[0] != a[1], "<": lambda a: z3.ULT(a[0], a[1]),
    "<=": lambda a: z3.ULE(a[0], a[1]), ">": lambda a: z3.UGT(a[0], a[1]), ">=": lambda a: z3.UGE(a[0], a[1]),
    "and": lambda a: z3.And(a), "or": lambda a: z3.Or(a), "not": lambda a: z3.Not(a[0]),
}


def encode(prog: EventProgram) -> Encoding:
    enc = Encoding(prog)
    _control(enc)
    _memory_model(enc)
    _checks(enc)
    return enc


def _control(enc: Encoding) -> None:
    """Which steps run: a prefix of each thread, never past a cut, only when enabled."""
    prog = enc.program
    for th in prog.threads:
        stop = z3.Int(f"stop@{th.name}")
        enc.stop[th.index] = stop
        enc.base += [stop >= 0, stop <= th.positions]
        done = []
        for sid in th.steps:
            st = prog.steps[sid]
            g = enc.term(st.guard)
            if st.is_cut:
                enc.base.append(z3.Implies(g, stop <= st.pos))
                done.append(z3.Not(g))
                continue
            ex = z3.Bool(f"run@{th.name}#{st.pos}")
            enc.base.append(ex == z3.And(g, st.pos < stop))
            enc.executed[sid] = ex
            done.append(z3.Implies(g, st.pos < stop))
            if st.enabled is not None:
                enc.base.append(z3.Implies(ex, enc.term(st.enabled)))
        enc.finished[th.index] = z3.And(done) if done else z3.BoolVal(True)
    for name, limit in prog.nondets:
        if limit is not None:
            sym = enc.symbols.setdefault(name, z3.BitVec(name, prog.width))
            enc.base.append(z3.ULT(sym, limit))


def _memory_model(enc: Encoding) -> None:
    """Sequential consistency: one total order of steps; reads see the latest write."""
    prog = enc.program
    # NOTE(step-clocks): all events of a step share its clock, so nothing can come between
    # them (atomicity). Clocks need not be distinct: conflicting accesses are strictly ordered
    # by the constraints below, and steps that do not conflict commute, so any tie can be
    # broken either way.
    real = [st for st in prog.steps if not st.is_cut]
    for st in real:
        enc.step_clock[st.id] = z3.Int(f"clock@{prog.threads[st.thread].name}#{st.pos}")
    for th in prog.threads:
        order = [sid for sid in th.steps if not prog.steps[sid].is_cut]
        for a, b in zip(order, order[1:]):
            enc.base.append(enc.step_clock[a] < enc.step_clock[b])
    end = z3.Int("clock@end")
    for st in real:
        enc.base.append(end > enc.step_clock[st.id])

    def clock(ev: Event) -> z3.ArithRef:
        return end if ev.kind == FINAL else enc.step_clock[ev.step]

    for ev in prog.events:
        if ev.kind == FINAL:
            enc.event_executed[ev.id] = z3.BoolVal(True)
        else:
            enc.event_executed[ev.id] = z3.And(enc.executed[ev.step], enc.term(ev.guard))
    writers = [ev for ev in prog.events if ev.kind in (WRITE, RMW)]
    by_loc: dict[int, list[Event]] = {}
    for w in writers:
        for c in w.cands:
            by_loc.setdefault(c, []).append(w)
    locations = prog.layout.locations

    def po_before(a: Event, b: Event) -> bool | None:
        """True/False when program order decides whether a comes before b; None otherwise."""
        if b.kind == FINAL:
            return True
        if a.kind == FINAL:
            return False
        if a.thread != b.thread:
            return None
        sa, sb = prog.steps[a.step], prog.steps[b.step]
        if sa.pos != sb.pos:
            return sa.pos < sb.pos
        return a.sub < b.sub

    def same_loc(a: Event, b: Event) -> z3.BoolRef:
        if isinstance(a.loc, Const) and isinstance(b.loc, Const):
            return z3.BoolVal(a.loc.value == b.loc.value)
        return enc.term(a.loc) == enc.term(b.loc)

    rmw_only = {c for c, ws in by_loc.items() if all(w.kind == RMW for w in ws)}
    for r in prog.events:
        if r.kind not in (READ, RMW, FINAL):
            continue
        seen: set[int] = set()
        cands: list[Event] = []
        for c in r.cands:
            for w in by_loc.get(c, []):
                if w.id != r.id and w.id not in seen:
                    seen.add(w.id)
                    cands.append(w)
        # writers that may come before r
        before = [w for w in cands if po_before(w, r) is not False]
        value = enc.term(r.read)  # type: ignore[arg-type]
        rloc = enc.term(r.loc)
        ex_r = enc.event_executed[r.id]
        options = []
        # initial value
        init: z3.ExprRef
        if isinstance(r.loc, Const):
            init = z3.BitVecVal(locations[r.loc.value].init, prog.width)
        else:
            init = z3.BitVecVal(0, prog.width)
            for c in reversed(r.cands):
                init = z3.If(rloc == c, z3.BitVecVal(locations[c].init, prog.width), init)
        if all(c in rmw_only for c in r.cands):
            _rmw_sum(enc, r, before, init, value, ex_r, clock, po_before, same_loc)
            continue
        rf0 = z3.Bool(f"rf@init>{r.id}")
        cons = [value == init]
        for w2 in before:
            cons.append(z3.Implies(z3.And(enc.event_executed[w2.id], same_loc(w2, r)), clock(w2) > clock(r)))
        enc.base.append(z3.Implies(rf0, z3.And(cons)))
        options.append(rf0)
        for w in before:
            rf = z3.Bool(f"rf@{w.id}>{r.id}")
            cons = [enc.event_executed[w.id], same_loc(w, r), value == enc.term(w.write)]  # type: ignore[arg-type]
            if po_before(w, r) is None:
                cons.append(clock(w) < clock(r))
            for w2 in before:
                if w2.id == w.id:
                    continue
                a = po_before(w2, w)
                if a is True:
                    continue  # w2 is before w in program order: never between w and r
                b = po_before(w2, r)
                if a is False and b is True:
                    # w2 lies between w and r in program order: r cannot read w if w2 ran there
                    cons.append(z3.Not(z3.And(enc.event_executed[w2.id], same_loc(w2, r))))
                    continue
                cons.append(z3.Implies(z3.And(enc.event_executed[w2.id], same_loc(w2, r)),
                                       z3.Or(clock(w2) < clock(w), clock(w2) > clock(r))))
            enc.base.append(z3.Implies(rf, z3.And(cons)))
            options.append(rf)
        enc.base.append(z3.Implies(ex_r, z3.Or(options)))


def _rmw_sum(enc: Encoding, r: Event, before: list[Event], init: z3.ExprRef, value: z3.ExprRef,
             ex_r: z3.BoolRef, clock, po_before, same_loc) -> None:  # type: ignore[no-untyped-def]
    """NOTE(rmw-sum): when every write to the locations a read may touch is a read-modify-write
    (refcounts always are), the value it sees is the initial value plus the change
    (written - read) of every RMW before it, in whatever order they ran: the changes telescope.
    Quadratic where reads-from is cubic (measured: 26 s instead of 37 s for objcg_v4's uaf).
    It needs an access and another thread's RMW of one location never to share a clock,
    which is asserted here."""
    width = enc.program.width
    zero = z3.BitVecVal(0, width)
    total = init
    for w in before:
        delta = enc.term(w.write) - enc.term(w.read)  # type: ignore[arg-type,operator]
        when = [enc.event_executed[w.id], same_loc(w, r)]
        if po_before(w, r) is None:
            when.append(clock(w) < clock(r))
        total = total + z3.If(z3.And(when), delta, zero)
    enc.base.append(z3.Implies(ex_r, value == total))
    if r.kind == FINAL:
        return
    # An access never shares a clock with another thread's RMW of its location: with a tie it
    # would not see the RMW, and two such ties could order two steps both ways.
    for w in before:
        if w.thread != r.thread and (r.kind != RMW or w.id < r.id):
            enc.base.append(z3.Implies(z3.And(enc.event_executed[w.id], ex_r, same_loc(w, r)),
                                       clock(w) != clock(r)))


def _checks(enc: Encoding) -> None:
    prog = enc.program
    for c in prog.checks:
        g = enc.term(c.guard)
        if c.step is not None:
            # a check in a unit that is a step on some paths only: where the path makes the unit
            # pure (no event, no wait), the check is between steps like any local one
            step = prog.steps[c.step]
            pure_here = z3.Not(enc.term(step.guard))
            reached = z3.And(g, z3.Or(enc.executed[c.step],
                                      z3.And(pure_here, enc.stop[c.thread] >= step.pos)))
        else:
            pure_here = z3.BoolVal(True)
            reached = z3.And(g, enc.stop[c.thread] >= c.pos)
        enc._reached[c.id] = reached
        if c.kind == "assume" and c.step is None:
            # NOTE(pure-assume) in unroll.py: a false assume between steps stops the thread there
            # (it runs nothing at or after this position) and keeps it from finishing
            stuck = z3.And(g, z3.Not(enc.term(c.cond)))
            enc.base.append(z3.Implies(stuck, enc.stop[c.thread] <= c.pos))
            enc.finished[c.thread] = z3.And(enc.finished[c.thread], z3.Not(stuck))
        elif c.kind == "assume":
            step = prog.steps[c.step]
            enc.base.append(z3.Implies(z3.And(enc.executed[c.step], g), enc.term(c.cond)))
            stuck = z3.And(g, pure_here, z3.Not(enc.term(c.cond)))
            enc.base.append(z3.Implies(stuck, enc.stop[c.thread] <= step.pos))
            enc.finished[c.thread] = z3.And(enc.finished[c.thread], z3.Not(stuck))
