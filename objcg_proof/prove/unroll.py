"""Unroll stage: ir.Program -> events.EventProgram.

Symbolically executes each thread on its own, inlining procedures and unrolling loops up to the
bound, and records every shared access as an event of an atomic step (one step per statement,
or per `atomic { }` block). Local computation becomes terms; control flow becomes guards.

Bound rule (docs/semantics.md, "The bound"): a loop body runs at most `bound` times, except
iterations that every execution performs (the condition is constantly true and nothing left the
loop), which are unrolled exactly. When an execution could run one more counted iteration, a
cut step is emitted there (NOTE(positions) in prove/events.py).

This module drives the stage and holds the control flow (statements, branches, loops with
cuts, procedure calls inlined); its helpers are siblings: unroll_exprs.py (expressions into
terms), unroll_steps.py (steps, events and check sites), unroll_limits.py (the size of the
encoding, `encoding_pairs`). The limits themselves are set here (NOTE(unroll-limit),
NOTE(encode-limit)): tests and benchmarks read and lower them on this module.
"""

from __future__ import annotations

from typing import Callable, TypeVar

from ..lang import ir
from ..lang.diagnostics import Span, error
from ..lang.spin_loops import wait_like_reason
from .events import FINAL, EventProgram, ThreadSteps
from .terms import FALSE, TRUE, Sym, Term, symbols
from .unroll_final import FinalUnroller
from .unroll_exprs import ExprEvaluator
from .unroll_limits import check_encoding_size, encoding_pairs
from .unroll_steps import Collector, Env, EventSpec, Frame, PendingStep, StepRecorder, ThreadState

# encoding_pairs (unroll_limits.py) is importable from here, as are the limits
__all__ = ["MAX_FREE_ITERATIONS", "MAX_PAIRS", "MAX_TERMS", "MAX_UNROLLED", "Unroller", "encoding_pairs", "unroll"]

MAX_FREE_ITERATIONS = 1000
# NOTE(unroll-limit): the unrolled size grows with the product of the nested loops' iterations,
# so a few nested loops can ask for millions of steps. The unroller counts what it produces,
# every statement it evaluates and every loop iteration it starts (and the terms it builds),
# and stops with a UserError at the outermost loop or call being unrolled (docs/semantics.md, "The
# bound") once either count passes its limit. The shipped models need at most ~620 units and
# ~3,500 terms even at bound 6 (benchmarks/unroll_sizes.py): the limits leave a margin of ~80x.
MAX_UNROLLED = 50_000
MAX_TERMS = 500_000
# NOTE(encode-limit): the encoder's reads-from constraints (sc.py, `SequentialConsistency`) are
# cubic per location: for each read r and each write w it may read from, one constraint per
# other write w2 that must not come between them (w2 of w's thread and before w is skipped),
# so a few thousand events on one word already take minutes to encode although unrolling was
# cheap. `encoding_pairs` counts those (read, write, write) triples per location (for a location
# written only by read-modify-writes, the rmw sum: one per (read, write) pair, NOTE(rmw-sum)),
# and `unroll` refuses the model when the total passes MAX_PAIRS, naming the location with the
# most. Encoding costs 15-30 us a triple (50 threads that each read and write one word: 120,050,
# ~2 s; 63 threads: 242,172, ~5 s); the shipped models need at most ~21,000 even at bound 6
# (objcg_v4; benchmarks/unroll_sizes.py): the limit leaves them a margin of ~12x (objcg_v4 is
# still encoded at bound 12: 110,742) and keeps encoding to seconds.
MAX_PAIRS = 250_000
R = TypeVar("R")


class Unroller(Collector):
    """Unrolls every thread of a program in turn, collecting their steps and events."""

    def run(self) -> EventProgram:
        for index, thread in enumerate(self.prog.threads):
            _ThreadUnroller(self, index, thread).run()
        finals = []
        final_reads: dict[int, Sym] = {}   # location -> its FINAL read, shared with the final block
        for obj in self.layout.objects:
            st = self.layout.struct(obj.struct)
            if st.refcounted:
                loc = self.layout.refcount_location(obj.index)
                spec = EventSpec(FINAL, self.tb.word(loc), (loc,), self.fresh("final"), None, TRUE, "plain", "final")
                finals.append((obj.index, self.add_event(spec, -1, -1, 0)))
                final_reads[loc] = spec.read  # type: ignore[assignment]
        holds = FinalUnroller(self, final_reads).run(self.prog.final) if self.prog.final is not None else ()
        return EventProgram(self.prog.path, self.layout, self.prog.bound, tuple(self.threads), tuple(self.steps),
                            tuple(self.events), tuple(self.checks), tuple(finals), tuple(self.nondets),
                            self.layout.width, self.prog.properties, holds, tuple(self.spins),
                            tuple((file, line, why) for (file, line), why in self.wait_loops.items()),
                            tuple(self.fences), self.prog.memory_model)


class _ThreadUnroller:
    """The control flow of one thread: statements, branches, loops (with cuts at the bound) and
    procedure calls (inlined); expressions go to an ExprEvaluator, steps to a StepRecorder."""

    def __init__(self, u: Unroller, index: int, thread: ir.Thread) -> None:
        self.u = u
        self.tb = u.tb
        self.s = ThreadState(index, thread)
        self.steps = StepRecorder(u, self.s)
        self.exprs = ExprEvaluator(u, self.s, self.steps)

    def grow(self, span: Span) -> None:
        """Count one unit of unrolling at `span`; too many is an error (NOTE(unroll-limit))."""
        u = self.u
        u.unrolled += 1
        if u.unrolled <= MAX_UNROLLED and self.tb.size() <= MAX_TERMS:
            return
        what = (f"{u.unrolled:,} statements and loop iterations" if u.unrolled > MAX_UNROLLED
                else f"{self.tb.size():,} terms")
        where = f"in this {self.s.nest[0][0]}" if self.s.nest else "at this statement"
        nest = self.s.nest
        notes = [f"the innermost {nest[-1][0]} being unrolled is at {nest[-1][1]}"] if len(nest) > 1 else []
        raise error(nest[0][1] if nest else span,
                    f"too large to unroll at bound {u.prog.bound}: thread {self.s.thread.name} has reached {what} "
                    f"{where} (the limit is {MAX_UNROLLED:,} statements and iterations, {MAX_TERMS:,} terms); "
                    "nested loops and calls multiply (a loop runs up to the bound, or up to "
                    f"{MAX_FREE_ITERATIONS} times while its condition is constantly true): lower the bound or "
                    "simplify the loops", *notes)

    def simple(self, span: Span, fn: Callable[[], R]) -> R:
        """Evaluate one statement: its shared accesses form one atomic step."""
        self.grow(span)
        if self.s.in_atomic:
            self.s.cg = self.steps.live()
            return fn()
        self.s.cg = self.s.g
        self.s.pending = PendingStep(span, self.s.g)
        result = fn()
        self.steps.end_step()
        return result

    def run(self) -> None:
        self.s.frames.append(Frame("thread"))
        self.block(self.s.thread.body)
        self.steps.trailing_fences()
        self.s.frames.pop()
        self.u.threads.append(ThreadSteps(self.s.index, self.s.thread.name, self.s.pos, tuple(self.s.step_ids)))

    def block(self, stmts: tuple[ir.Stmt, ...]) -> None:
        for st in stmts:
            if self.s.g is FALSE:
                return
            self.stmt(st)

    def stmt(self, st: ir.Stmt) -> None:
        if isinstance(st, ir.Fence):
            self.steps.fence(st.tag, st.span)
        elif isinstance(st, ir.Seq):
            self.block(st.body)
        elif isinstance(st, ir.AssignLocal):
            self.simple(st.span, lambda: self.steps.set_local(st.var, self.exprs.expr(st.value)))
        elif isinstance(st, ir.AssignShared):
            self.simple(st.span, lambda: self.exprs.write(st.loc, self.exprs.expr(st.value), st.mode))
        elif isinstance(st, ir.Eval):
            self.simple(st.span, lambda: self.exprs.expr(st.expr))
        elif isinstance(st, ir.Check):
            self.simple(st.span, lambda: self.steps.check(st.kind, st.label, self.exprs.expr(st.cond), st.span,
                                                    _check_message(st)))
        elif isinstance(st, ir.Assume):
            self.simple(st.span, lambda: self.steps.check("assume", "", self.exprs.expr(st.cond), st.span,
                                                          "assumption"))
        elif isinstance(st, ir.Await):
            def await_() -> None:
                assert self.s.pending is not None
                self.steps.wait(self.exprs.expr(st.cond))
            self.simple(st.span, await_)
        elif isinstance(st, ir.Atomic):
            self.atomic(st)
        elif isinstance(st, ir.If):
            self.if_(st)
        elif isinstance(st, ir.Loop):
            self.loop(st)
        elif isinstance(st, ir.Break):
            i = self.nearest("body")
            for f in self.s.frames[i:]:
                f.escaped = True
            self.s.frames[i - 1].breaks.append((self.s.g, dict(self.s.env)))
            self.s.g = FALSE
        elif isinstance(st, ir.Continue):
            i = self.nearest("body")
            for f in self.s.frames[i + 1:]:
                f.escaped = True
            self.s.frames[i].conts.append((self.s.g, dict(self.s.env)))
            self.s.g = FALSE
        elif isinstance(st, ir.Return):
            value = self.simple(st.span, lambda: self.exprs.expr(st.value)) if st.value is not None else None
            i = max(self.nearest("proc"), self.nearest("thread"))
            for f in self.s.frames[i + 1:]:
                f.escaped = True
            self.s.frames[i].returns.append((self.s.g, dict(self.s.env), value))
            self.s.g = FALSE
        elif isinstance(st, ir.CallProc):
            self.call(st)
        else:
            raise AssertionError(f"unhandled statement {type(st).__name__}")

    def nearest(self, kind: str) -> int:
        for i in range(len(self.s.frames) - 1, -1, -1):
            if self.s.frames[i].kind == kind:
                return i
        return -1

    def merge(self, states: list[tuple[Term, Env]]) -> Env:
        if len(states) == 1:
            return dict(states[0][1])
        keys: set[int] = set()
        for _, env in states:
            keys.update(env)
        out: Env = {}
        zero = self.tb.word(0)
        for k in keys:
            vals = [env.get(k, zero) for _, env in states]
            value = vals[-1]
            for (g, _), v in zip(reversed(states[:-1]), reversed(vals[:-1])):
                value = self.tb.ite(g, v, value)
            out[k] = value
        return out

    def atomic(self, st: ir.Atomic) -> None:
        if self.s.in_atomic:
            self.block(st.body)
            return
        self.s.pending = PendingStep(st.span, self.s.g)
        self.s.in_atomic = True
        self.block(st.body)
        self.s.in_atomic = False
        self.steps.end_step()

    def if_(self, st: ir.If) -> None:
        tb = self.tb
        c = tb.truth(self.simple(getattr(st.cond, "span", st.span), lambda: self.exprs.expr(st.cond)))
        self.control(c)
        g, env0 = self.s.g, dict(self.s.env)
        frame = Frame("if")
        self.s.frames.append(frame)
        self.s.g = tb.and_(g, c)
        self.block(st.then)
        g1, env1 = self.s.g, self.s.env
        self.s.g, self.s.env = tb.and_(g, tb.not_(c)), dict(env0)
        self.block(st.other)
        g2, env2 = self.s.g, self.s.env
        self.s.frames.pop()
        if not frame.escaped:
            self.s.g = g
            self.s.env = self.merge([(c, env1), (TRUE, env2)])
        else:
            self.s.g = tb.or_(g1, g2)
            self.s.env = self.merge([(g1, env1), (TRUE, env2)])

    def control(self, cond: Term) -> None:
        """A branch on `cond`: every later event of the thread depends on the reads it tests by
        control, as herd7 has it (docs/lkmm.md, section 1)."""
        new = [x for x in symbols(cond) if x not in self.s.ctrl]
        if new:
            self.s.ctrl = self.s.ctrl + tuple(new)

    def loop(self, st: ir.Loop) -> None:
        tb = self.tb
        if self.s.in_atomic:
            raise error(st.span, "a loop inside an atomic block (here reached through a procedure call): "
                        "an atomic step must be straight-line code")
        if st.spin:
            self.spin_loop(st)
            return
        g0 = self.s.g
        loop_frame = Frame("loop")
        self.s.frames.append(loop_frame)
        self.s.nest.append(("loop", st.span))
        exits: list[tuple[Term, Env]] = []
        counted = free = it = 0
        while self.s.g is not FALSE:
            self.grow(st.span)
            const_true = False
            if st.cond_first or it > 0:
                c = tb.truth(self.simple(getattr(st.cond, "span", st.span), lambda: self.exprs.expr(st.cond)))
                self.control(c)
                exits.append((tb.and_(self.s.g, tb.not_(c)), dict(self.s.env)))
                const_true = c is TRUE
                self.s.g = tb.and_(self.s.g, c)
                if self.s.g is FALSE:
                    break
            if const_true and self.s.g is g0 and free < MAX_FREE_ITERATIONS:
                free += 1
            else:
                if counted == self.u.prog.bound:
                    self.steps.cut(st.span)
                    why = wait_like_reason(st)
                    if why is not None:
                        self.u.wait_loops[(st.span.file, st.span.line)] = why
                    exits.append((self.s.g, dict(self.s.env)))
                    self.s.g = FALSE
                    break
                counted += 1
            self.loop_body(st)
            self.block(st.step)
            it += 1
        self.s.nest.pop()
        self.s.frames.pop()
        states = exits + loop_frame.breaks
        self.s.env = self.merge(states) if states else self.s.env
        self.s.g = g0 if not loop_frame.escaped else tb.or_(*[s[0] for s in states])

    def loop_body(self, st: ir.Loop) -> None:
        """One run of a loop's body: where it falls through or `continue`s, merged."""
        g_in = self.s.g
        body = Frame("body")
        self.s.frames.append(body)
        self.block(st.body)
        states = [(self.s.g, self.s.env)] + body.conts
        self.s.frames.pop()
        self.s.env = self.merge(states) if body.conts else self.s.env
        self.s.g = g_in if not body.escaped else self.tb.or_(*[s[0] for s in states])

    def spin_loop(self, st: ir.Loop) -> None:
        """NOTE(spin-loop): a spin loop (docs/semantics.md, "Spin loops") runs one iteration,
        never counted against the bound. Where it would go round again, a false assume between
        steps stops the thread (NOTE(pure-assume)); where the thread stopped at the loop's entry,
        `SpinWait` says when it waits there forever (one iteration on the final memory goes round)."""
        tb = self.tb
        g0, entry, first = self.s.g, self.s.pos, len(self.u.steps)
        loop_frame = Frame("loop")
        self.s.frames.append(loop_frame)
        self.s.nest.append(("loop", st.span))
        self.grow(st.span)
        exits: list[tuple[Term, Env]] = []

        def condition() -> None:
            c = tb.truth(self.simple(getattr(st.cond, "span", st.span), lambda: self.exprs.expr(st.cond)))
            exits.append((tb.and_(self.s.g, tb.not_(c)), dict(self.s.env)))
            self.s.g = tb.and_(self.s.g, c)

        if st.cond_first:
            condition()
        self.loop_body(st)
        if not st.cond_first and self.s.g is not FALSE:
            condition()
        goes_round = self.s.g
        if goes_round is not FALSE:
            self.steps.add_check("assume", "", goes_round, FALSE, None, st.span, "a spin loop goes round again")
            for f in self.s.frames:
                f.escaped = True   # NOTE(pure-assume): the thread stops where the loop goes round
            self.u.spins.append(self.steps.spin_wait(entry, goes_round, self.u.steps[first:], st.span))
        self.s.nest.pop()
        self.s.frames.pop()
        states = exits + loop_frame.breaks
        self.s.env = self.merge(states) if states else self.s.env
        self.s.g = tb.or_(*[s[0] for s in states]) if states else FALSE
        if not loop_frame.escaped and goes_round is FALSE:
            self.s.g = g0

    def call(self, st: ir.CallProc) -> None:
        tb = self.tb
        # each argument is its own statement-sized step: `f(x, y)` reads x and y in two steps
        args = [self.simple(getattr(a, "span", st.span), lambda a=a: self.exprs.expr(a)) for a in st.args]
        proc = self.u.prog.proc(st.proc)
        g0, env0 = self.s.g, dict(self.s.env)
        for p, a in zip(proc.params, args):
            self.s.env[p.uid] = a
        frame = Frame("proc")
        self.s.frames.append(frame)
        self.s.nest.append(("call", st.span))
        self.block(proc.body)
        self.s.nest.pop()
        self.s.frames.pop()
        value: Term = tb.word(0)
        for g, _, v in reversed(frame.returns):
            if v is not None:
                value = tb.ite(g, v, value)
        # the caller goes on where the procedure returned or ended; unless a false assume
        # stopped the thread in it (NOTE(pure-assume) marks every frame escaped), that is `g0`
        self.s.g = tb.or_(self.s.g, *[g for g, _, _ in frame.returns]) if frame.escaped else g0
        self.s.env = env0
        if st.result is not None:
            self.s.env[st.result.uid] = value


def _check_message(st: ir.Check) -> str:
    if st.kind == "lost_update":
        return f"lost update{': ' + st.label if st.label else ''}"
    return f"assertion{' ' + st.label if st.label else ''} failed"


def unroll(prog: ir.Program) -> EventProgram:
    events = Unroller(prog).run()
    check_encoding_size(events, MAX_PAIRS, MAX_FREE_ITERATIONS)
    return events


