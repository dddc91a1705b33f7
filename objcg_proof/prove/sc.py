"""The memory model: sequential consistency (docs/semantics.md, "Executions").

One total order of the steps of all threads; every read takes its value from the latest earlier
write to the same location (reads-from), or from the initial value. The encoder (prove/encode.py) states
which steps run (control flow), the checks and the properties; this module states how the events
of the steps that run are ordered and what the reads see.

NOTE(memory-model): the interface of a memory model. prove/encode.py picks one by name
(`encode.MEMORY_MODELS`, "sc" for this module; the Linux-kernel memory model is to be a sibling,
lkmm.py) and calls `Model(program, executed, term, memo, finished).encode()`. The model receives:
- `program`, the events.EventProgram: the steps of each thread in program order, their events
  (READ, WRITE, RMW, and the FINAL reads of the memory at the end), with each event's guard,
  candidate locations, read symbol and written term, and the memory layout (initial values);
- `executed`, step id -> z3 bool: the step runs (cut steps have none); the encoder has stated
  when (a prefix of each thread, only when enabled);
- `term`, the encoder's translation of a terms.Term into z3 (memoized: a read's symbol is the
  same z3 constant wherever it appears, so constraining it constrains every use);
- `finished`, thread index -> z3 bool: the thread ran to its end (a fence after a thread's last
  step happens when it did: NOTE(fence-events) in prove/events.py);
- `memo`, an empty dict the model may keep terms in; it lives as long as the encoding. Other
  terms the model builds are freed when `encode()` returns, unless a constraint holds them. What
  lives how long is part of the behaviour: z3 reuses the ids of freed terms, and the ids steer
  its search, so the traces found for the models checked later in the same process depend on it.
It returns a `MemoryModelResult`: the constraints to assert (on top of the encoder's), a clock
per step that runs (a bit-vector; prove/decode.py orders the steps of a trace by it, so two steps that
both run must have distinct clocks, in the order of the execution), and for each event the
condition that it happens. It must not constrain which steps run beyond what the memory model
itself forbids, and must create only fresh z3 names (its own prefixes: `clock@`, `rf@`).

Everything is bit-vectors and booleans (clocks too), so a query stays pure QF_BV.
Only this module, prove/lkmm.py, prove/encode.py, prove/solver.py and prove/decode.py import z3.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import z3

from .events import FINAL, READ, RMW, WRITE, Event, EventProgram, Step
from .held import Held
from .terms import TRUE, App, Const, Term


@dataclass(frozen=True)
class MemoryModelResult:
    """What a memory model adds to the encoding (NOTE(memory-model))."""

    constraints: list[z3.BoolRef]
    step_clock: dict[int, z3.BitVecRef]         # step id -> its clock, for every step that can run
    event_executed: dict[int, z3.BoolRef]       # event id -> the event happens
    flags: dict[str, z3.BoolRef] = field(default_factory=dict)   # a flag of the model (the LKMM's data-race) -> raised
    # for a weak model's traces (prove/decode.py, `memory_order`): (writer event, read event) -> the
    # read takes its value from that write (writer -1 - L: location L's initial value), and each
    # write's place in its location's coherence order
    reads_from: dict[tuple[int, int], z3.BoolRef] = field(default_factory=dict)
    coherence: dict[int, z3.BitVecRef] = field(default_factory=dict)
    held_back: tuple[Held, ...] = ()   # groups held back from the solver until violated (NOTE(held-groups) in prove/held.py)


class SequentialConsistency:
    """Sequential consistency: one total order of steps; reads see the latest write."""

    name = "sc"

    def __init__(self, program: EventProgram, executed: Mapping[int, z3.BoolRef],
                 term: Callable[[Term], z3.ExprRef], memo: dict, finished: Mapping[int, z3.BoolRef]) -> None:
        self.program = program
        self.executed = executed
        self.term = term
        self.constraints: list[z3.BoolRef] = []
        self.step_clock: dict[int, z3.BitVecRef] = {}
        self.event_executed: dict[int, z3.BoolRef] = {}
        self._changes: dict[tuple[int, int], z3.BitVecRef] = memo   # (RMW event, bits): its change (NOTE(rmw-sum))

    def encode(self) -> MemoryModelResult:
        """The clocks, the order of the steps and what every read sees."""
        prog = self.program
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
            self.step_clock[st.id] = z3.Concat(high[st.id], z3.BitVecVal(st.thread, tbits))
        for th in prog.threads:
            order = [sid for sid in th.steps if not prog.steps[sid].is_cut]
            for a, b in zip(order, order[1:]):
                self.constraints.append(z3.ULT(high[a], high[b]))

        def clock_lt(a: Step, b: Step) -> z3.BoolRef:
            """clock(a) < clock(b) for steps of two different threads."""
            return z3.ULE(high[a.id], high[b.id]) if a.thread < b.thread else z3.ULT(high[a.id], high[b.id])

        for ev in prog.events:
            if ev.kind == FINAL:
                self.event_executed[ev.id] = z3.BoolVal(True)
            else:
                self.event_executed[ev.id] = _all(self.executed[ev.step], self.term(ev.guard))
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

        waits = _waits_for(self, by_loc, po_before)
        true, false = z3.BoolVal(True), z3.BoolVal(False)
        step_before: dict[tuple[int, int], z3.BoolRef] = {}   # (step a, step b) of two threads: a before b
        for later, earlier in waits:
            self.constraints.append(z3.Implies(self.executed[later.id], clock_lt(earlier, later)))

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
            return self.term(a.loc) == self.term(b.loc)

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
            value = self.term(r.read)  # type: ignore[arg-type]
            rloc = self.term(r.loc)
            ex_r = self.event_executed[r.id]
            init: z3.ExprRef
            if isinstance(r.loc, Const):
                init = z3.BitVecVal(locations[r.loc.value].init, prog.width)
            else:
                init = z3.BitVecVal(0, prog.width)
                for c in reversed(r.cands):
                    init = z3.If(rloc == c, z3.BitVecVal(locations[c].init, prog.width), init)
            if all(c in rmw_only for c in r.cands):
                _rmw_sum(self, r, prior, init, value, ex_r, before, same_loc)
                continue
            options = []
            # the initial value: every write to l that may come before r comes after it
            rf0 = z3.Bool(f"rf@init>{r.id}")
            cons = [value == init]
            for w2 in prior:
                cons.append(_implies(_all(self.event_executed[w2.id], same_loc(w2, r)), before(r, w2)))
            self.constraints.append(_implies(rf0, _all(*cons)))
            options.append(rf0)
            for w in prior:
                rf = z3.Bool(f"rf@{w.id}>{r.id}")
                cons = [self.event_executed[w.id], same_loc(w, r), value == self.term(w.write)]  # type: ignore[arg-type]
                if po_before(w, r) is None:
                    cons.append(before(w, r))
                for w2 in prior:
                    if w2.id == w.id or po_before(w2, w) is True:
                        continue  # w2 is before w in program order: never between w and r
                    # w2 is not between w and r: it comes before w, or after r (if neither can hold,
                    # as for a w2 between them in program order, r cannot read w when w2 ran)
                    cons.append(_implies(_all(self.event_executed[w2.id], same_loc(w2, r)),
                                         _any(before(w2, w), before(r, w2))))
                self.constraints.append(_implies(rf, _all(*cons)))
                options.append(rf)
            self.constraints.append(z3.Implies(ex_r, z3.Or(options)))

        return MemoryModelResult(self.constraints, self.step_clock, self.event_executed)


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

def _waits_for(mm: SequentialConsistency, by_loc: dict[int, list[Event]], po_before) -> list[tuple[Step, Step]]:  # type: ignore[no-untyped-def]
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
    prog = mm.program
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
            probe.add(z3.substitute(mm.term(st.enabled), (mm.term(e.read), init)))  # type: ignore[arg-type]
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


def _change_value(mm: SequentialConsistency, shape, bits: int) -> z3.BitVecRef:  # type: ignore[no-untyped-def]
    if shape[0] == "c":
        return z3.BitVecVal(shape[1] % (1 << bits), bits)
    return z3.If(mm.term(shape[1]), _change_value(mm, shape[2], bits), _change_value(mm, shape[3], bits))


def _rmw_sum(mm: SequentialConsistency, r: Event, prior: list[Event], init: z3.ExprRef, value: z3.ExprRef,
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
    width = mm.program.width
    steps = mm.program.steps
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
            when = _all(mm.event_executed[w.id], same_loc(w, r), before(w, r))
            change = mm._changes.get((w.id, bits))
            if change is None:
                change = mm._changes[(w.id, bits)] = _change_value(mm, sh, bits)
            term = _ite(when, change, zero)
            part = term if part is None else part + term
        total = total + z3.SignExt(width - bits, part)
    zero = z3.BitVecVal(0, width)
    for w, _ in wide:
        delta = mm.term(w.write) - mm.term(w.read)  # type: ignore[arg-type,operator]
        when = _all(mm.event_executed[w.id], same_loc(w, r), before(w, r))
        total = total + _ite(when, delta, zero)
    mm.constraints.append(_implies(ex_r, value == total))
