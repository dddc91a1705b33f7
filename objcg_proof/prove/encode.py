"""Encode stage: events.EventProgram -> z3 constraints.

The encoding is event based (partial-order BMC, as in CBMC's and Dartagnan's): an execution is a
choice, per thread, of how far it runs (`stop`: control flow, stated here), plus what the memory
model allows: for sequential consistency (sc.py), a clock order of the steps that respects
program order, every read taking its value from the latest earlier write to the same location
(reads-from), or from the initial value. A memory model is its own module, chosen by name
(`MEMORY_MODELS`; NOTE(memory-model) in sc.py; docs/semantics.md, "Executions"). This module
also states the check sites and the formulas of the properties each query asks about.

Everything is bit-vectors and booleans (clocks too), so a query is pure QF_BV and z3 solves it
by bit-blasting to SAT: measured 3-5x faster than integer clocks (benchmarks/compare.py).

Only this module, sc.py and lkmm.py (the memory models), prove/solver.py and prove/decode.py import z3.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import z3

from .events import Check, EventProgram
from .held import Held
from .lkmm import CAT, MARKED, PER_LOCATION, SEQUENTIAL, LinuxKernelMemoryModel
from .lkmm_clocks import LevelTooLarge   # raised by encode(), caught by prove/verify.py
from .sc import SequentialConsistency
from .solver import OutOfMemory, memory_limit_mb, out_of_memory, recover_memory
from .terms import BOOL, FALSE, App, Const, Sym, Term


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
    flags: dict[str, z3.BoolRef] = field(default_factory=dict)      # the memory model's flags, raised when
    reads_from: dict[tuple[int, int], z3.BoolRef] = field(default_factory=dict)   # MemoryModelResult's
    coherence: dict[int, z3.BitVecRef] = field(default_factory=dict)
    held_back: tuple[Held, ...] = ()   # constraint groups the session adds once violated (NOTE(held-groups) in prove/held.py)

    def reached(self, check: Check) -> z3.BoolRef:
        return self._reached[check.id]

    def violation(self, checks: list[Check]) -> z3.BoolRef:
        return z3.Or([z3.And(self.reached(c), z3.Not(self.term(c.cond))) for c in checks])

    def reachable(self, checks: list[Check]) -> z3.BoolRef:
        """Some execution reaches one of these check sites (vacuity)."""
        return z3.Or([self.reached(c) for c in checks]) if checks else z3.BoolVal(False)

    def raised(self, flag: str, among: list[z3.BoolRef]) -> z3.BoolRef:
        """The memory model raises `flag` in an execution that satisfies one of `among`."""
        return z3.And(self.flags[flag], z3.Or(among))

    def all_finished(self) -> z3.BoolRef:
        return z3.And(list(self.finished.values())) if self.finished else z3.BoolVal(True)

    def leak(self) -> z3.BoolRef:
        """Every thread finished, and some refcounted object's final count is not the number of
        references the final block says are held on it (0 without `holds`)."""
        prog = self.program
        kill_mask = prog.layout.kill_bit
        leaks = []
        for obj_index, ev_id in prog.refcount_finals:
            v = self.symbols[prog.events[ev_id].read.name]  # type: ignore[union-attr]
            # without holds exactly the formula it always was: z3's search (and so which of several
            # shortest traces it shows) depends on how a formula is built
            held = self.held(obj_index) if prog.holds else 0
            leaks.append((v & z3.BitVecVal(~kill_mask & ((1 << prog.width) - 1), prog.width)) != held)
        return z3.And(self.all_finished(), z3.Or(leaks)) if leaks else z3.BoolVal(False)

    def held(self, obj_index: int) -> z3.BitVecRef:
        """How many of the final block's `holds` name the object at the end."""
        prog = self.program
        address = z3.BitVecVal(prog.layout.objects[obj_index].address, prog.width)
        one, zero = z3.BitVecVal(1, prog.width), z3.BitVecVal(0, prog.width)
        return z3.Sum([z3.If(self.term(p) == address, one, zero) for p in prog.holds]) if prog.holds else zero

    def deadlock(self, exact_only: bool = False) -> z3.BoolRef:
        """Every thread finished or blocked forever, and at least one blocked. With `exact_only`,
        a thread counts as blocked only at a wait whose condition on the final memory is exact
        (`Step.wait_exact`; NOTE(wide-wait) in prove/verify.py)."""
        prog = self.program
        parts, any_blocked = [], []
        for th in prog.threads:
            blocked = []
            for sid in th.steps:
                st = prog.steps[sid]
                if st.enabled_final is not None and (st.wait_exact or not exact_only):
                    blocked.append(z3.And(self.term(st.guard), self.stopped_at(th.index, st.pos),
                                          z3.Not(self.term(st.enabled_final))))
            for spin in prog.spins:
                if spin.thread == th.index:   # NOTE(spin-loop) in unroll.py: waiting forever at a spin loop
                    blocked.append(z3.And(self.stopped_at(th.index, spin.pos), self.term(spin.goes_round)))
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
        the last step it ran did not fail an access (NOTE(failed-access) in prove/events.py: the
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
        self._model_memo: dict = {}   # the memory model's, kept as long as the encoding (NOTE(memory-model))


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


# the memory models, by name (NOTE(memory-model) in sc.py)
MEMORY_MODELS = {SequentialConsistency.name: SequentialConsistency,
                 LinuxKernelMemoryModel.name: LinuxKernelMemoryModel}


def encode(prog: EventProgram, memory_model: str = "sc", closure_rounds: int | None = None,
           axioms: str = CAT) -> Encoding:
    """The model's encoding under the named memory model. `closure_rounds` bounds the LKMM's
    closures to paths of at most 2^rounds edges (NOTE(bounded-closures) in prove/lkmm.py; None:
    exact); sequential consistency has none. `axioms` are the LKMM axioms stated: the .cat's (CAT),
    sequential consistency of the LKMM's events (SEQUENTIAL, NOTE(sequential-level) in
    prove/lkmm.py), the .cat's axioms of one location (PER_LOCATION, NOTE(per-location-level)
    there) or its axioms on marked accesses (MARKED, NOTE(marked-level) in prove/lkmm_clocks.py;
    LevelTooLarge for a model too large for them, NOTE(marked-size) there). OutOfMemory when z3 runs
    out of the memory it is allowed on the way (NOTE(memory-limit) in prove/solver.py)."""
    enc = Encoding(prog)
    try:
        _control(enc)
        _memory_model(enc, memory_model, closure_rounds, axioms)
        _checks(enc)
        return enc
    except z3.Z3Exception as exc:
        if not out_of_memory(exc):
            raise
    # raised here, not in the except clause: the exception would keep z3's exception as its
    # context, and with it the frames holding what was built so far (NOTE(memory-limit))
    del enc
    recover_memory()
    events = sum(1 for ev in prog.events if ev.kind != "FINAL")
    what = "the encoding" if memory_model == "sc" else (
        "the LKMM encoding" + (" of its sequentially consistent executions" if axioms == SEQUENTIAL else
                               " of its axioms of one location" if axioms == PER_LOCATION else
                               " of its axioms on marked accesses" if axioms == MARKED else
                               " with exact closures" if closure_rounds is None else
                               f" at closure level {closure_rounds}"))
    raise OutOfMemory(f"z3 ran out of memory building {what} of {events} events (its limit: "
                      f"{memory_limit_mb()} MiB, NOTE(memory-limit)); try a smaller scenario (-D)")


def _control(enc: Encoding) -> None:
    """Which steps run: a prefix of each thread, never past a cut, only when enabled.

    NOTE(unary-stop): `stop_t` is stated in unary: `ran@t#p` says thread t ran position p
    (stop_t > p), and ran@t#(p+1) implies ran@t#p, so the positions run are a prefix. A step is
    executed iff its guard holds and its position was run; `enc.stop[t]` is the number of
    positions run (a sum, only evaluated by prove/decode.py). Measured slightly faster than a
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
                # NOTE(failed-access) in prove/events.py: a step that failed an access is the last the
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


def _memory_model(enc: Encoding, name: str, closure_rounds: int | None, axioms: str) -> None:
    """How the events of the steps that run are ordered and what the reads see: the named
    memory model's constraints (NOTE(memory-model) in sc.py)."""
    args = (enc.program, enc.executed, enc.term, enc._model_memo, enc.finished)
    if closure_rounds is None and axioms == CAT:
        model = MEMORY_MODELS[name](*args)
    else:
        assert name == LinuxKernelMemoryModel.name, "only the LKMM has closures to bound or other axiom sets"
        model = LinuxKernelMemoryModel(*args, closure_rounds=closure_rounds, axioms=axioms)
    out = model.encode()
    enc.base.extend(out.constraints)
    enc.step_clock.update(out.step_clock)
    enc.event_executed.update(out.event_executed)
    enc.flags.update(out.flags)
    enc.reads_from.update(out.reads_from)
    enc.coherence.update(out.coherence)
    enc.held_back = out.held_back


def _checks(enc: Encoding) -> None:
    prog = enc.program
    for c in prog.checks:
        g = enc.term(c.guard)
        if c.thread < 0:
            continue   # a check of the final block: below, once `finished` is complete
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
            # NOTE(pure-assume) in unroll_steps.py: a false assume between steps stops the thread
            # there (it runs nothing at or after this position) and keeps it from finishing
            stuck = z3.And(g, z3.Not(enc.term(c.cond)))
            enc.base.append(z3.Implies(stuck, z3.Not(enc.ran(c.thread, c.pos))))
            enc.finished[c.thread] = z3.And(enc.finished[c.thread], z3.Not(stuck))
        elif c.kind == "assume":
            step = prog.steps[c.step]
            enc.base.append(z3.Implies(z3.And(enc.executed[c.step], g), enc.term(c.cond)))
            stuck = z3.And(g, pure_here, z3.Not(enc.term(c.cond)))
            enc.base.append(z3.Implies(stuck, z3.Not(enc.ran(c.thread, step.pos))))
            enc.finished[c.thread] = z3.And(enc.finished[c.thread], z3.Not(stuck))
    for c in prog.checks:
        if c.thread < 0:
            # a check of the final block (prove/unroll_final.py): reached when every thread finished
            enc._reached[c.id] = z3.And(enc.term(c.guard), enc.all_finished())
