"""Encode stage: events.EventProgram -> z3 constraints (sequential consistency).

The encoding is event based (partial-order BMC, as in CBMC's and Dartagnan's): every step gets
a clock; an execution is a choice, per thread, of how far it runs (`stop`), plus a clock order
of the steps that respects program order; every read takes its value from the latest earlier
write to the same location (reads-from), or from the initial value. A weaker memory model
replaces only `_memory_model` (docs/semantics.md, "Executions").

Everything is bit-vectors and booleans (clocks too), so a query is pure QF_BV and z3 solves it
by bit-blasting to SAT: measured 3-5x faster than integer clocks (benchmarks/compare.py).

Only this module, solver.py and decode.py import z3.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import z3

from .events import FINAL, READ, RMW, WRITE, Check, Event, EventProgram, Step
from .terms import BOOL, FALSE, TRUE, App, Const, Sym, Term


@dataclass
class Encoding:
    """The constraints of one model, and the formulas each query asks about."""

    program: EventProgram
    base: list[z3.BoolRef] = field(default_factory=list)
    stop: dict[int, z3.BitVecRef] = field(default_factory=dict)       # for decoding: how far each thread ran
    step_clock: dict[int, z3.BitVecRef] = field(default_factory=dict)
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

    def deadlock(self, exact_only: bool = False) -> z3.BoolRef:
        """Every thread finished or blocked forever, and at least one blocked. With `exact_only`,
        a thread counts as blocked only at a wait whose condition on the final memory is exact
        (`Step.wait_exact`; NOTE(wide-wait) in verify.py)."""
        prog = self.program
        parts, any_blocked = [], []
        for th in prog.threads:
            blocked = []
            for sid in th.steps:
                st = prog.steps[sid]
                if st.enabled_final is not None and (st.wait_exact or not exact_only):
                    blocked.append(z3.And(self.term(st.guard), self.stopped_at(th.index, st.pos),
                                          z3.Not(self.term(st.enabled_final))))
            b = z3.Or(blocked) if blocked else z3.BoolVal(False)
            parts.append(z3.Or(self.finished[th.index], b))
            any_blocked.append(b)
        return z3.And(z3.And(parts), z3.Or(any_blocked))

    def coverage_gap(self, skip: frozenset[tuple[int, str, int]] = frozenset()) -> z3.BoolRef:
        """Some thread reached a cut: the bound did not cover this execution. Cuts of the loops in
        `skip` ((thread, file, line) of the loop) are not counted."""
        gaps = [z3.And(self.term(st.guard), self.stopped_at(st.thread, st.pos)) for st in self.program.steps
                if st.is_cut and (st.thread, st.span.file, st.span.line) not in skip]
        return z3.Or(gaps) if gaps else z3.BoolVal(False)

    # ---- how far a thread ran (NOTE(unary-stop) in _control)
    def ran(self, thread: int, pos: int) -> z3.BoolRef:
        """The thread ran position `pos`: stop > pos."""
        past = self._past[thread]
        return past[pos] if 0 <= pos < len(past) else z3.BoolVal(pos < 0)

    def ran_to(self, thread: int, pos: int) -> z3.BoolRef:
        """The thread ran every position before `pos`: stop >= pos."""
        return self.ran(thread, pos - 1)

    def got_to(self, thread: int, pos: int) -> z3.BoolRef:
        """The thread got to position `pos`: it ran every position before it (stop >= pos), and
        the last step it ran did not fail an access (NOTE(failed-access) in events.py: the
        thread stops for good after it; one before would have kept it from running pos - 1)."""
        died = self._died.get((thread, pos - 1))
        return self.ran_to(thread, pos) if died is None else z3.And(self.ran_to(thread, pos), z3.Not(died))

    def stopped_at(self, thread: int, pos: int) -> z3.BoolRef:
        """The thread got to position `pos` and stopped right there: stop == pos."""
        return z3.And(self.got_to(thread, pos), z3.Not(self.ran(thread, pos)))

    # ---- the step count, for the shortest trace
    def step_counter(self, cap: int) -> list[z3.BoolRef]:
        """NOTE(step-counter): definitions that give `at_most_steps(n)` its meaning for n <= cap:
        a sequential counter (Sinz 2005) over the executed steps, `count@i#j` forced true when at
        least j of the first i+1 steps run. Only that direction is stated, so the definitions
        alone constrain nothing (set every counter true); `at_most_steps(n)` is then a single
        literal, which an incremental solver takes as an assumption, keeping what it learned
        between the queries of a bisection. Measured: a pseudo-boolean PbLe took z3 out of pure
        QF_BV (2-3x slower per query); a bit-vector sum of the steps was 3x slower than this
        counter in the incremental solver. Its n*cap clauses are built with z3's C API (7x
        faster than z3py's And/Implies) and kept for the next call."""
        xs = list(self.executed.values())
        k = min(cap + 1, len(xs))
        if k <= len(self._at_least):
            return self._counter
        ctx = z3.main_ctx()
        ref = ctx.ref()

        def implies(a: z3.BoolRef, b: z3.BoolRef) -> z3.BoolRef:
            return z3.BoolRef(z3.Z3_mk_implies(ref, a.as_ast(), b.as_ast()), ctx)

        def both(a: z3.BoolRef, b: z3.BoolRef) -> z3.BoolRef:
            return z3.BoolRef(z3.Z3_mk_and(ref, 2, (z3.Ast * 2)(a.as_ast(), b.as_ast())), ctx)

        defs: list[z3.BoolRef] = []
        prev: list[z3.BoolRef] = []
        for i, x in enumerate(xs):
            cur = [z3.Bool(f"count@{i}#{j}", ctx) for j in range(1, min(i + 1, k) + 1)]
            defs.append(implies(x, cur[0]))
            for j in range(2, len(cur) + 1):
                defs.append(implies(both(x, prev[j - 2]), cur[j - 1]))
            for j in range(1, min(len(prev), len(cur)) + 1):
                defs.append(implies(prev[j - 1], cur[j - 1]))
            prev = cur
        self._at_least, self._counter = prev, defs
        return defs

    def at_most_steps(self, n: int) -> z3.BoolRef:
        """At most n steps run; a literal that needs `step_counter(cap)` (cap >= n) asserted."""
        if n >= len(self.executed):
            return z3.BoolVal(True)
        assert n < len(self._at_least), "at_most_steps(n) needs step_counter(cap) with cap >= n"
        return z3.Not(self._at_least[n])

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
        self._past: dict[int, list[z3.BoolRef]] = {}
        self._died: dict[tuple[int, int], z3.BoolRef] = {}   # (thread, pos): that step failed an access
        self._at_least: list[z3.BoolRef] = []
        self._counter: list[z3.BoolRef] = []
        self._changes: dict[tuple[int, int], z3.BitVecRef] = {}   # (RMW event, bits): its change (NOTE(rmw-sum))


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


def _all(*xs: z3.BoolRef) -> z3.BoolRef:
    """The conjunction, with constant parts folded (the hot paths of the encoder build tens of
    thousands; z3py's And, is_true and is_false are several times slower than the C API, and
    the folding keeps the terms small)."""
    return _fold(xs, z3.Z3_mk_and, z3.Z3_L_TRUE)


def _any(*xs: z3.BoolRef) -> z3.BoolRef:
    """The disjunction, with constant parts folded (as `_all`)."""
    return _fold(xs, z3.Z3_mk_or, z3.Z3_L_FALSE)


def _fold(xs: tuple[z3.BoolRef, ...], mk, unit: int) -> z3.BoolRef:  # type: ignore[no-untyped-def]
    """`mk` (and/or) of xs: the unit (true for and) is left out, its opposite absorbs all."""
    parts = []
    for x in xs:
        value = z3.Z3_get_bool_value(x.ctx_ref(), x.as_ast())
        if value == unit:
            continue
        if value != z3.Z3_L_UNDEF:
            return x
        parts.append(x)
    if not parts:
        return z3.BoolVal(unit == z3.Z3_L_TRUE)
    if len(parts) == 1:
        return parts[0]
    ctx = parts[0].ctx
    args = (z3.Ast * len(parts))(*[x.as_ast() for x in parts])
    return z3.BoolRef(mk(ctx.ref(), len(parts), args), ctx)


def _ite(c: z3.BoolRef, a: z3.BitVecRef, b: z3.BitVecRef) -> z3.BitVecRef:
    """z3.If for two bit-vectors of one width, without z3py's coercions (a hot path)."""
    ctx = c.ctx
    return z3.BitVecRef(z3.Z3_mk_ite(ctx.ref(), c.as_ast(), a.as_ast(), b.as_ast()), ctx)


def _implies(a: z3.BoolRef, b: z3.BoolRef) -> z3.BoolRef:
    ctx = a.ctx
    return z3.BoolRef(z3.Z3_mk_implies(ctx.ref(), a.as_ast(), b.as_ast()), ctx)


def encode(prog: EventProgram) -> Encoding:
    enc = Encoding(prog)
    _control(enc)
    _memory_model(enc)
    _checks(enc)
    return enc


def _control(enc: Encoding) -> None:
    """Which steps run: a prefix of each thread, never past a cut, only when enabled.

    NOTE(unary-stop): `stop_t` is stated in unary: `ran@t#p` says thread t ran position p
    (stop_t > p), and ran@t#(p+1) implies ran@t#p, so the positions run are a prefix. A step is
    executed iff its guard holds and its position was run; `enc.stop[t]` is the number of
    positions run (a sum, only evaluated by decode.py). Measured slightly faster than a
    bit-vector `stop` compared with every position."""
    prog = enc.program
    for th in prog.threads:
        past = [z3.Bool(f"ran@{th.name}#{p}") for p in range(th.positions)]
        enc._past[th.index] = past
        for a, b in zip(past, past[1:]):
            enc.base.append(z3.Implies(b, a))
        width = max(1, th.positions.bit_length())
        one, zero = z3.BitVecVal(1, width), z3.BitVecVal(0, width)
        enc.stop[th.index] = z3.Sum([z3.If(x, one, zero) for x in past]) if past else zero
        done = []
        for sid in th.steps:
            st = prog.steps[sid]
            g = enc.term(st.guard)
            if st.is_cut:
                enc.base.append(z3.Implies(g, z3.Not(enc.ran(th.index, st.pos))))
                done.append(z3.Not(g))
                continue
            ex = z3.Bool(f"run@{th.name}#{st.pos}")
            enc.base.append(ex == z3.And(g, enc.ran(th.index, st.pos)))
            enc.executed[sid] = ex
            done.append(z3.Implies(g, enc.ran(th.index, st.pos)))
            if st.enabled is not None:
                enc.base.append(z3.Implies(ex, enc.term(st.enabled)))
            if st.fails is not FALSE:
                # NOTE(failed-access) in events.py: a step that failed an access is the last the
                # thread runs; it is not finished (nor blocked: `stopped_at`)
                died = z3.And(ex, enc.term(st.fails))
                enc._died[(th.index, st.pos)] = died
                if st.pos + 1 < th.positions:
                    enc.base.append(z3.Implies(died, z3.Not(enc.ran(th.index, st.pos + 1))))
                done.append(z3.Not(died))
        enc.finished[th.index] = z3.And(done) if done else z3.BoolVal(True)
    for name, limit in prog.nondets:
        if limit is not None:
            sym = enc.symbols.setdefault(name, z3.BitVec(name, prog.width))
            enc.base.append(z3.ULT(sym, limit))


def _memory_model(enc: Encoding) -> None:
    """Sequential consistency: one total order of steps; reads see the latest write."""
    prog = enc.program
    # NOTE(step-clocks): all events of a step share its clock, so nothing can come between
    # them (atomicity). A clock is a bit-vector: a free high part `clock@T#p`, and the thread's
    # index as its low bits, so steps of different threads never share a clock (no tie to
    # exclude, no constraint spent on it) and compare lexicographically: clock(a) < clock(b) iff
    # high(a) < high(b), or high(a) == high(b) and thread(a) < thread(b). The high parts of a
    # thread's steps strictly increase with their positions, whether the steps run or not. With
    # n steps in all, n values of the high part are enough for every order of them.
    # FINAL events (the values at the end) come after every step and need no clock.
    real = [st for st in prog.steps if not st.is_cut]
    tbits = max(1, (len(prog.threads) - 1).bit_length())
    hbits = max(1, len(real).bit_length())
    high: dict[int, z3.BitVecRef] = {}
    for st in real:
        high[st.id] = z3.BitVec(f"clock@{prog.threads[st.thread].name}#{st.pos}", hbits)
        enc.step_clock[st.id] = z3.Concat(high[st.id], z3.BitVecVal(st.thread, tbits))
    for th in prog.threads:
        order = [sid for sid in th.steps if not prog.steps[sid].is_cut]
        for a, b in zip(order, order[1:]):
            enc.base.append(z3.ULT(high[a], high[b]))

    def clock_lt(a: Step, b: Step) -> z3.BoolRef:
        """clock(a) < clock(b) for steps of two different threads."""
        return z3.ULE(high[a.id], high[b.id]) if a.thread < b.thread else z3.ULT(high[a.id], high[b.id])

    for ev in prog.events:
        if ev.kind == FINAL:
            enc.event_executed[ev.id] = z3.BoolVal(True)
        else:
            enc.event_executed[ev.id] = _all(enc.executed[ev.step], enc.term(ev.guard))
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

    waits = _waits_for(enc, by_loc, po_before)
    true, false = z3.BoolVal(True), z3.BoolVal(False)
    step_before: dict[tuple[int, int], z3.BoolRef] = {}   # (step a, step b) of two threads: a before b
    for later, earlier in waits:
        enc.base.append(z3.Implies(enc.executed[later.id], clock_lt(earlier, later)))

    def before(a: Event, b: Event) -> z3.BoolRef:
        """a comes before b in the execution. Only ever asked where both are executed (the
        constraints below are all conditioned on that), which NOTE(waits-for) relies on."""
        po = po_before(a, b)
        if po is not None:
            return true if po else false
        key = (a.step, b.step)
        found = step_before.get(key)
        if found is None:
            sa, sb = prog.steps[a.step], prog.steps[b.step]
            if _waits_ordered(waits, sa, sb):
                found = true
            elif _waits_ordered(waits, sb, sa):
                found = false
            else:
                found = clock_lt(sa, sb)
            step_before[key] = found
        return found

    def same_loc(a: Event, b: Event) -> z3.BoolRef:
        if isinstance(a.loc, Const) and isinstance(b.loc, Const):
            return true if a.loc.value == b.loc.value else false
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
        prior = [w for w in cands if po_before(w, r) is not False]
        value = enc.term(r.read)  # type: ignore[arg-type]
        rloc = enc.term(r.loc)
        ex_r = enc.event_executed[r.id]
        init: z3.ExprRef
        if isinstance(r.loc, Const):
            init = z3.BitVecVal(locations[r.loc.value].init, prog.width)
        else:
            init = z3.BitVecVal(0, prog.width)
            for c in reversed(r.cands):
                init = z3.If(rloc == c, z3.BitVecVal(locations[c].init, prog.width), init)
        if all(c in rmw_only for c in r.cands):
            _rmw_sum(enc, r, prior, init, value, ex_r, before, same_loc)
            continue
        options = []
        # the initial value: every write to l that may come before r comes after it
        rf0 = z3.Bool(f"rf@init>{r.id}")
        cons = [value == init]
        for w2 in prior:
            cons.append(_implies(_all(enc.event_executed[w2.id], same_loc(w2, r)), before(r, w2)))
        enc.base.append(_implies(rf0, _all(*cons)))
        options.append(rf0)
        for w in prior:
            rf = z3.Bool(f"rf@{w.id}>{r.id}")
            cons = [enc.event_executed[w.id], same_loc(w, r), value == enc.term(w.write)]  # type: ignore[arg-type]
            if po_before(w, r) is None:
                cons.append(before(w, r))
            for w2 in prior:
                if w2.id == w.id or po_before(w2, w) is True:
                    continue  # w2 is before w in program order: never between w and r
                # w2 is not between w and r: it comes before w, or after r (if neither can hold,
                # as for a w2 between them in program order, r cannot read w when w2 ran)
                cons.append(_implies(_all(enc.event_executed[w2.id], same_loc(w2, r)),
                                     _any(before(w2, w), before(r, w2))))
            enc.base.append(_implies(rf, _all(*cons)))
            options.append(rf)
        enc.base.append(z3.Implies(ex_r, z3.Or(options)))


def _waits_for(enc: Encoding, by_loc: dict[int, list[Event]], po_before) -> list[tuple[Step, Step]]:  # type: ignore[no-untyped-def]
    """NOTE(waits-for): pairs (s, b) such that whenever step s runs, step b (of another thread)
    has a smaller clock, derived from a wait that only one other thread's writes can satisfy:

    - s is on every path of its thread (guard true) and has a wait condition;
    - one of its reads, of a constant location l, is on every path through s (guard true);
    - the wait condition is false whatever else it reads when that read returns l's initial
      value (asked of z3 on the condition alone: unsat);
    - every write to l that can come before the read in program order is thread B's (B is not
      s's thread), the first of them in step b.

    Then when s runs, its read returns the value of some write of B (reads-from: not the initial
    value), which comes before s; B's steps run in position order, so b comes before it. The
    same holds for every step of B before b, and every step of s's thread after s (it runs only
    if s did). Such pairs are stated as constraints, and where the encoding compares the clocks
    of two such steps, both executed, the comparison is replaced by its known answer (fewer
    clock comparisons: 20-25% faster on the objcg models, whose offliner waits for the end of
    the other threads). The constraint is what keeps this sound: the replaced comparisons are
    the ones that derived the pair, so without it a solution could break the order they stood
    for. With it, the solutions are exactly those of the full encoding."""
    prog = enc.program
    out: list[tuple[Step, Step]] = []
    for st in prog.steps:
        if st.is_cut or st.enabled is None or st.guard is not TRUE:
            continue
        for eid in st.events:
            e = prog.events[eid]
            if e.kind not in (READ, RMW) or e.guard is not TRUE or not isinstance(e.loc, Const):
                continue
            loc = e.loc.value
            probe = z3.Solver()
            probe.set(timeout=1000)
            init = z3.BitVecVal(prog.layout.locations[loc].init, prog.width)
            probe.add(z3.substitute(enc.term(st.enabled), (enc.term(e.read), init)))  # type: ignore[arg-type]
            if probe.check() != z3.unsat:
                continue
            ws = [w for w in by_loc.get(loc, []) if w.id != e.id and po_before(w, e) is not False]
            threads = {w.thread for w in ws}
            if len(threads) != 1 or st.thread in threads:
                continue
            first = min((prog.steps[w.step] for w in ws), key=lambda x: x.pos)
            out.append((st, first))
    return out


def _waits_ordered(waits: list[tuple[Step, Step]], x: Step, y: Step) -> bool:
    """Step x comes before step y whenever y runs (NOTE(waits-for))."""
    return any(s.thread == y.thread and y.pos >= s.pos and b.thread == x.thread and x.pos <= b.pos
               for s, b in waits)


def _small_change(write: Term, read: Term, width: int):  # type: ignore[no-untyped-def]
    """write - read as a tree of ites over constants (`("c", k)` or `("ite", cond, a, b)`, k as a
    signed number), when the shape of `write` shows it: read + k, read - k, an ite of such.
    None otherwise."""
    def signed(v: int) -> int:
        return v - (1 << width) if v >> (width - 1) else v
    if write is read:
        return ("c", 0)
    if isinstance(write, App):
        a = write.args
        if write.op == "+" and (a[0] is read or a[1] is read):
            other = a[1] if a[0] is read else a[0]
            return ("c", signed(other.value)) if isinstance(other, Const) else None
        if write.op == "-" and a[0] is read and isinstance(a[1], Const):
            return ("c", signed((-a[1].value) % (1 << width)))
        if write.op == "ite":
            x, y = _small_change(a[1], read, width), _small_change(a[2], read, width)
            return ("ite", a[0], x, y) if x is not None and y is not None else None
    return None


def _change_range(shape) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    if shape[0] == "c":
        return shape[1], shape[1]
    (a, b), (c, d) = _change_range(shape[2]), _change_range(shape[3])
    return min(a, c), max(b, d)


def _change_value(enc: Encoding, shape, bits: int) -> z3.BitVecRef:  # type: ignore[no-untyped-def]
    if shape[0] == "c":
        return z3.BitVecVal(shape[1] % (1 << bits), bits)
    return z3.If(enc.term(shape[1]), _change_value(enc, shape[2], bits), _change_value(enc, shape[3], bits))


def _rmw_sum(enc: Encoding, r: Event, prior: list[Event], init: z3.ExprRef, value: z3.ExprRef,
             ex_r: z3.BoolRef, before, same_loc) -> None:  # type: ignore[no-untyped-def]
    """NOTE(rmw-sum): when every write to the locations a read may touch is a read-modify-write
    (refcounts always are), the value it sees is the initial value plus the change
    (written - read) of every RMW before it, in whatever order they ran: the changes telescope.
    Quadratic where reads-from is cubic. Two RMWs of one location never share a clock (steps of
    different threads never do, NOTE(step-clocks)), so "before" is never ambiguous.

    Most changes are small constants (get +1, put -1, tryget +1 or 0): those are summed in a
    narrow two's-complement word of k bits, k chosen so that every partial sum fits (the sum of
    the negative extremes to the sum of the positive ones), then sign-extended: that is the
    exact sum, so modulo 2^width too. Other changes (kill, xchg ...) are added at full width.
    Half the clauses of a full-width sum (v4: 150k instead of 347k), ~40% faster. The read's
    own thread's changes come first, in program order, so reads of one thread share a prefix."""
    width = enc.program.width
    steps = enc.program.steps
    prior = sorted(prior, key=lambda w: (w.thread != r.thread, w.thread, steps[w.step].pos, w.sub))
    small, wide = [], []
    for w in prior:
        shape = _small_change(w.write, w.read, width)  # type: ignore[arg-type]
        (small if shape is not None else wide).append((w, shape))
    bits = width
    if small:
        lo = sum(min(_change_range(sh)[0], 0) for _, sh in small)
        hi = sum(max(_change_range(sh)[1], 0) for _, sh in small)
        bits = 1
        while not (-(1 << (bits - 1)) <= lo and hi < (1 << (bits - 1))):
            bits += 1
    if bits >= width:
        wide, small = [(w, None) for w, _ in small] + wide, []
    total = init
    if small:
        zero = z3.BitVecVal(0, bits)
        part = None
        for w, sh in small:
            when = _all(enc.event_executed[w.id], same_loc(w, r), before(w, r))
            change = enc._changes.get((w.id, bits))
            if change is None:
                change = enc._changes[(w.id, bits)] = _change_value(enc, sh, bits)
            term = _ite(when, change, zero)
            part = term if part is None else part + term
        total = total + z3.SignExt(width - bits, part)
    zero = z3.BitVecVal(0, width)
    for w, _ in wide:
        delta = enc.term(w.write) - enc.term(w.read)  # type: ignore[arg-type,operator]
        when = _all(enc.event_executed[w.id], same_loc(w, r), before(w, r))
        total = total + _ite(when, delta, zero)
    enc.base.append(_implies(ex_r, value == total))


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
                                      z3.And(pure_here, enc.got_to(c.thread, step.pos))))
        else:
            pure_here = z3.BoolVal(True)
            reached = z3.And(g, enc.got_to(c.thread, c.pos))
        enc._reached[c.id] = reached
        if c.kind == "assume" and c.step is None:
            # NOTE(pure-assume) in unroll.py: a false assume between steps stops the thread there
            # (it runs nothing at or after this position) and keeps it from finishing
            stuck = z3.And(g, z3.Not(enc.term(c.cond)))
            enc.base.append(z3.Implies(stuck, z3.Not(enc.ran(c.thread, c.pos))))
            enc.finished[c.thread] = z3.And(enc.finished[c.thread], z3.Not(stuck))
        elif c.kind == "assume":
            step = prog.steps[c.step]
            enc.base.append(z3.Implies(z3.And(enc.executed[c.step], g), enc.term(c.cond)))
            stuck = z3.And(g, pure_here, z3.Not(enc.term(c.cond)))
            enc.base.append(z3.Implies(stuck, z3.Not(enc.ran(c.thread, step.pos))))
            enc.finished[c.thread] = z3.And(enc.finished[c.thread], z3.Not(stuck))
