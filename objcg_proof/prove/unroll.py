"""Unroll stage: ir.Program -> events.EventProgram.

Symbolically executes each thread on its own, inlining procedures and unrolling loops up to the
bound, and records every shared access as an event of an atomic step (one step per statement,
or per `atomic { }` block). Local computation becomes terms; control flow becomes guards.

Bound rule (docs/semantics.md, "The bound"): a loop body runs at most `bound` times, except
iterations that every execution performs (the condition is constantly true and nothing left the
loop), which are unrolled exactly. When an execution could run one more counted iteration, a
cut step is emitted there (NOTE(positions) in events.py).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Callable, TypeVar

from ..lang import ir
from ..lang.diagnostics import Span, error
from .events import FINAL, READ, RMW, WRITE, Assignment, Check, Event, EventProgram, Step, ThreadSteps
from .terms import BOOL, FALSE, TRUE, WORD, App, Const, Sym, Term, TermBuilder, substitute

MAX_FREE_ITERATIONS = 1000
# NOTE(unroll-limit): the unrolled size grows with the product of the nested loops' iterations,
# so a few nested loops can ask for millions of steps. The unroller counts what it produces,
# every statement it evaluates and every loop iteration it starts (and the terms it builds),
# and stops with a UserError at the outermost loop or call being unrolled (docs/semantics.md, "The
# bound") once either count passes its limit. The shipped models need at most ~620 units and
# ~3,500 terms even at bound 6 (benchmarks/unroll_sizes.py): the limits leave a margin of ~80x.
MAX_UNROLLED = 50_000
MAX_TERMS = 500_000
# NOTE(encode-limit): the encoder's reads-from constraints (encode.py, `_memory_model`) are
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

Env = dict[int, Term]


@dataclass
class _Frame:
    kind: str                     # if | loop | body | proc | thread
    escaped: bool = False
    breaks: list[tuple[Term, Env]] = field(default_factory=list)
    conts: list[tuple[Term, Env]] = field(default_factory=list)
    returns: list[tuple[Term, Env, Term | None]] = field(default_factory=list)


@dataclass
class _EventSpec:
    kind: str
    loc: Term
    cands: tuple[int, ...]
    read: Sym | None
    write: Term | None
    guard: Term
    mode: str
    what: str


@dataclass
class _Pending:
    span: Span
    entry: Term
    events: list[_EventSpec] = field(default_factory=list)
    assigns: list[Assignment] = field(default_factory=list)
    checks: list[tuple[str, str, Term, Term, Span, str]] = field(default_factory=list)
    enabled: Term | None = None
    # guards under which the unit is a step although no event happens: a failed access (bad
    # pointer or index: the thread still tried to touch memory) and a wait it reaches
    step_guards: list[Term] = field(default_factory=list)
    fails: list[Term] = field(default_factory=list)   # each failed access: when it fails
    nondets: list[tuple[Sym, int | None]] = field(default_factory=list)


class Unroller:
    def __init__(self, prog: ir.Program) -> None:
        self.prog = prog
        self.layout = prog.layout
        self.tb = TermBuilder(prog.layout.width)
        self.steps: list[Step] = []
        self.events: list[Event] = []
        self.checks: list[Check] = []
        self.nondets: list[tuple[str, int | None]] = []
        self.sym_count = 0
        self.threads: list[ThreadSteps] = []
        self.unrolled = 0   # statements evaluated and loop iterations started (NOTE(unroll-limit))

    def fresh(self, prefix: str) -> Sym:
        self.sym_count += 1
        return self.tb.sym(WORD, f"{prefix}{self.sym_count}")

    def add_event(self, spec: _EventSpec, thread: int, step: int, sub: int) -> int:
        ev = Event(len(self.events), thread, step, sub, spec.kind, spec.loc, spec.cands, spec.read,
                   spec.write, spec.guard, spec.mode, spec.what)
        self.events.append(ev)
        return ev.id

    def run(self) -> EventProgram:
        for index, thread in enumerate(self.prog.threads):
            _ThreadUnroller(self, index, thread).run()
        finals = []
        for obj in self.layout.objects:
            st = self.layout.struct(obj.struct)
            if st.refcounted:
                loc = self.layout.refcount_location(obj.index)
                spec = _EventSpec(FINAL, self.tb.word(loc), (loc,), self.fresh("final"), None, TRUE, "plain", "final")
                finals.append((obj.index, self.add_event(spec, -1, -1, 0)))
        return EventProgram(self.prog.path, self.layout, self.prog.bound, tuple(self.threads), tuple(self.steps),
                            tuple(self.events), tuple(self.checks), tuple(finals), tuple(self.nondets),
                            self.layout.width, self.prog.properties)


class _ThreadUnroller:
    def __init__(self, u: Unroller, index: int, thread: ir.Thread) -> None:
        self.u = u
        self.tb = u.tb
        self.layout = u.layout
        self.index = index
        self.thread = thread
        self.g: Term = TRUE         # path guard
        self.cg: Term = TRUE        # guard of the sub-expression being evaluated
        self.env: Env = {}
        self.pos = 0
        self.frames: list[_Frame] = []
        self.pending: _Pending | None = None
        self.in_atomic = False
        self.step_ids: list[int] = []
        self.nest: list[tuple[str, Span]] = []   # the loops and calls being unrolled, outermost first

    def run(self) -> None:
        self.frames.append(_Frame("thread"))
        self.block(self.thread.body)
        self.frames.pop()
        self.u.threads.append(ThreadSteps(self.index, self.thread.name, self.pos, tuple(self.step_ids)))

    # ---- steps
    def grow(self, span: Span) -> None:
        """Count one unit of unrolling at `span`; too many is an error (NOTE(unroll-limit))."""
        u = self.u
        u.unrolled += 1
        if u.unrolled <= MAX_UNROLLED and self.tb.size() <= MAX_TERMS:
            return
        what = (f"{u.unrolled:,} statements and loop iterations" if u.unrolled > MAX_UNROLLED
                else f"{self.tb.size():,} terms")
        where = f"in this {self.nest[0][0]}" if self.nest else "at this statement"
        notes = [f"the innermost {self.nest[-1][0]} being unrolled is at {self.nest[-1][1]}"] if len(self.nest) > 1 else []
        raise error(self.nest[0][1] if self.nest else span,
                    f"too large to unroll at bound {u.prog.bound}: thread {self.thread.name} has reached {what} "
                    f"{where} (the limit is {MAX_UNROLLED:,} statements and iterations, {MAX_TERMS:,} terms); "
                    "nested loops and calls multiply (a loop runs up to the bound, or up to "
                    f"{MAX_FREE_ITERATIONS} times while its condition is constantly true): lower the bound or "
                    "simplify the loops", *notes)

    def simple(self, span: Span, fn: Callable[[], R]) -> R:
        """Evaluate one statement: its shared accesses form one atomic step."""
        self.grow(span)
        if self.in_atomic:
            self.cg = self.live()
            return fn()
        self.cg = self.g
        self.pending = _Pending(span, self.g)
        result = fn()
        self.end_step()
        return result

    def end_step(self) -> None:
        p = self.pending
        assert p is not None
        self.pending = None
        tb = self.tb
        if not p.events and p.enabled is None and not p.step_guards:
            for kind, label, guard, cond, span, msg in p.checks:
                self.add_check(kind, label, guard, cond, None, span, msg)
                if kind == "assume":
                    # NOTE(pure-assume): a false assume in a local unit stops the thread there:
                    # nothing after it runs (its path guard includes the assumption), and the
                    # thread is not finished (encode.py: finished needs every such assume true)
                    self.g = tb.and_(self.g, tb.or_(tb.not_(guard), cond))
                    for f in self.frames:
                        f.escaped = True
            return
        guard = tb.or_(*[e.guard for e in p.events], *p.step_guards)
        step_id = len(self.u.steps)
        ids = tuple(self.u.add_event(spec, self.index, step_id, i) for i, spec in enumerate(p.events))
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
                        final = _EventSpec(FINAL, spec.loc, spec.cands, self.u.fresh("final"), None, TRUE, "plain", "final")
                        self.u.add_event(final, self.index, -1, 0)
                        mapping[id(spec.read)] = final.read  # type: ignore[assignment]
                if spec.write is not None and isinstance(spec.loc, Const):
                    written[spec.loc.value] = substitute(spec.write, mapping, tb)
            enabled_final, exact = self.on_final_memory(p.enabled, mapping, p.nondets)
        else:
            exact = True
        step = Step(step_id, self.index, self.pos, guard, ids, p.span, p.enabled, enabled_final, False, tuple(p.assigns),
                    tb.or_(*p.fails), exact)
        self.u.steps.append(step)
        self.step_ids.append(step_id)
        self.pos += 1
        for kind, label, cguard, cond, span, msg in p.checks:
            self.add_check(kind, label, cguard, cond, step_id, span, msg)

    def on_final_memory(self, enabled: Term, mapping: dict[int, Term], nondets: list[tuple[Sym, int | None]]) -> tuple[Term, bool]:
        """The wait condition on the final memory, and whether it is exact. A nondet in it is
        chosen afresh at every try, so the wait can still succeed if some choice makes it true:
        the result is true when any choice does, trying every value of each nondet when they
        combine to at most 256 (an unlimited nondet() has 2^width values: at width 8 it is tried
        alone). Otherwise the choices stay free and the result is not exact: the encoder could
        call blocked a thread that one value of them would let run, so verify.py never shows a
        deadlock that rests on such a wait (NOTE(wide-wait) in verify.py)."""
        tb = self.tb
        small = [(s, n if n is not None else 1 << self.u.layout.width) for s, n in nondets]
        combos = 1
        for _, n in small:
            combos *= n
        if not small:
            return substitute(enabled, mapping, tb), True
        if combos > 256:
            return substitute(enabled, mapping, tb), False
        options: list[dict[int, Term]] = [dict(mapping)]
        for sym, n in small:
            options = [{**m, id(sym): tb.word(v)} for m in options for v in range(n)]
        return tb.or_(*[substitute(enabled, m, tb) for m in options]), True

    def add_check(self, kind: str, label: str, guard: Term, cond: Term, step: int | None, span: Span, msg: str) -> None:
        if guard is FALSE:
            return   # unreachable: a check that folds to true is kept, so vacuity can see it
        self.u.checks.append(Check(len(self.u.checks), kind, label, self.index, guard, cond, step, self.pos, span, msg))

    def check(self, kind: str, label: str, cond: Term, span: Span, msg: str, access: bool = False) -> None:
        """A check site; with `access`, `cond` says that an access is valid, and when it is not
        the access fails (NOTE(failed-access) in events.py)."""
        assert self.pending is not None
        cond = self.tb.truth(cond)
        self.pending.checks.append((kind, label, self.cg, cond, span, msg))
        if access:
            self.fail_unless(cond)

    def fail_unless(self, valid: Term) -> None:
        """NOTE(failed-access) in events.py: where the access is not valid, the unit is a step
        (`step_guards`) that fails there (`fails`), and the rest of the step is evaluated only
        where it is valid (`cg`, and `live` for the later statements of an atomic block). The
        guards of the thread's later steps do not change: the encoder stops the thread after
        a step that failed (`Step.fails`), as after a cut, so loops unroll as before."""
        assert self.pending is not None
        tb = self.tb
        failed = tb.and_(self.cg, tb.not_(valid))
        if failed is FALSE:
            return
        self.pending.step_guards.append(failed)
        self.pending.fails.append(failed)
        self.cg = tb.and_(self.cg, valid)

    def live(self) -> Term:
        """The path guard, less the failed accesses of the step so far (NOTE(failed-access))."""
        tb = self.tb
        fails = self.pending.fails if self.pending is not None else []
        return tb.and_(self.g, *[tb.not_(f) for f in fails])

    def narrowed(self, cond: Term, fn: Callable[[], R]) -> R:
        """Evaluate `fn` only where `cond` holds (the right operand of && or ||, a branch of ?:);
        afterwards the guard is the one before, less the failed accesses `fn` made."""
        assert self.pending is not None
        tb = self.tb
        saved, before = self.cg, len(self.pending.fails)
        self.cg = tb.and_(saved, cond)
        out = fn()
        self.cg = tb.and_(saved, *[tb.not_(f) for f in self.pending.fails[before:]])
        return out

    def wait(self, cond: Term) -> None:
        """The step can only run when `cond` holds, if the path reaches this wait."""
        assert self.pending is not None
        c = self.tb.implies(self.cg, self.tb.truth(cond))
        self.pending.enabled = c if self.pending.enabled is None else self.tb.and_(self.pending.enabled, c)
        self.pending.step_guards.append(self.cg)

    def event(self, kind: str, loc: Term, cands: tuple[int, ...], write: Term | None, valid: Term, mode: str, what: str) -> Sym | None:
        assert self.pending is not None
        read = self.u.fresh("v") if kind in (READ, RMW) else None
        self.pending.events.append(_EventSpec(kind, loc, cands, read, write, self.tb.and_(self.cg, valid), mode, what))
        return read

    # ---- statements
    def block(self, stmts: tuple[ir.Stmt, ...]) -> None:
        for st in stmts:
            if self.g is FALSE:
                return
            self.stmt(st)

    def stmt(self, st: ir.Stmt) -> None:
        tb = self.tb
        if isinstance(st, ir.Seq):
            self.block(st.body)
        elif isinstance(st, ir.AssignLocal):
            self.simple(st.span, lambda: self.set_local(st.var, self.expr(st.value)))
        elif isinstance(st, ir.AssignShared):
            self.simple(st.span, lambda: self.write(st.loc, self.expr(st.value), st.mode))
        elif isinstance(st, ir.Eval):
            self.simple(st.span, lambda: self.expr(st.expr))
        elif isinstance(st, ir.Check):
            self.simple(st.span, lambda: self.check(st.kind, st.label, self.expr(st.cond), st.span,
                                                    _check_message(st)))
        elif isinstance(st, ir.Assume):
            self.simple(st.span, lambda: self.check("assume", "", self.expr(st.cond), st.span, "assumption"))
        elif isinstance(st, ir.Await):
            def await_() -> None:
                assert self.pending is not None
                self.wait(self.expr(st.cond))
            self.simple(st.span, await_)
        elif isinstance(st, ir.Atomic):
            self.atomic(st)
        elif isinstance(st, ir.If):
            self.if_(st)
        elif isinstance(st, ir.Loop):
            self.loop(st)
        elif isinstance(st, ir.Break):
            i = self.nearest("body")
            for f in self.frames[i:]:
                f.escaped = True
            self.frames[i - 1].breaks.append((self.g, dict(self.env)))
            self.g = FALSE
        elif isinstance(st, ir.Continue):
            i = self.nearest("body")
            for f in self.frames[i + 1:]:
                f.escaped = True
            self.frames[i].conts.append((self.g, dict(self.env)))
            self.g = FALSE
        elif isinstance(st, ir.Return):
            value = self.simple(st.span, lambda: self.expr(st.value)) if st.value is not None else None
            i = max(self.nearest("proc"), self.nearest("thread"))
            for f in self.frames[i + 1:]:
                f.escaped = True
            self.frames[i].returns.append((self.g, dict(self.env), value))
            self.g = FALSE
        elif isinstance(st, ir.CallProc):
            self.call(st)
        else:
            raise AssertionError(f"unhandled statement {type(st).__name__}")

    def nearest(self, kind: str) -> int:
        for i in range(len(self.frames) - 1, -1, -1):
            if self.frames[i].kind == kind:
                return i
        return -1

    def set_local(self, var: ir.LocalVar, value: Term) -> None:
        self.env[var.uid] = value
        if self.pending is not None:
            live = self.tb.not_(self.tb.or_(*self.pending.fails))
            self.pending.assigns.append(Assignment(var.name, value, var.type.pointer, live))

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
        if self.in_atomic:
            self.block(st.body)
            return
        self.pending = _Pending(st.span, self.g)
        self.in_atomic = True
        self.block(st.body)
        self.in_atomic = False
        self.end_step()

    def if_(self, st: ir.If) -> None:
        tb = self.tb
        c = tb.truth(self.simple(getattr(st.cond, "span", st.span), lambda: self.expr(st.cond)))
        g, env0 = self.g, dict(self.env)
        frame = _Frame("if")
        self.frames.append(frame)
        self.g = tb.and_(g, c)
        self.block(st.then)
        g1, env1 = self.g, self.env
        self.g, self.env = tb.and_(g, tb.not_(c)), dict(env0)
        self.block(st.other)
        g2, env2 = self.g, self.env
        self.frames.pop()
        if not frame.escaped:
            self.g = g
            self.env = self.merge([(c, env1), (TRUE, env2)])
        else:
            self.g = tb.or_(g1, g2)
            self.env = self.merge([(g1, env1), (TRUE, env2)])

    def loop(self, st: ir.Loop) -> None:
        tb = self.tb
        if self.in_atomic:
            raise error(st.span, "a loop inside an atomic block (here reached through a procedure call): "
                        "an atomic step must be straight-line code")
        g0 = self.g
        loop_frame = _Frame("loop")
        self.frames.append(loop_frame)
        self.nest.append(("loop", st.span))
        exits: list[tuple[Term, Env]] = []
        counted = free = it = 0
        while self.g is not FALSE:
            self.grow(st.span)
            const_true = False
            if st.cond_first or it > 0:
                c = tb.truth(self.simple(getattr(st.cond, "span", st.span), lambda: self.expr(st.cond)))
                exits.append((tb.and_(self.g, tb.not_(c)), dict(self.env)))
                const_true = c is TRUE
                self.g = tb.and_(self.g, c)
                if self.g is FALSE:
                    break
            if const_true and self.g is g0 and free < MAX_FREE_ITERATIONS:
                free += 1
            else:
                if counted == self.u.prog.bound:
                    self.cut(st.span)
                    exits.append((self.g, dict(self.env)))
                    self.g = FALSE
                    break
                counted += 1
            g_in = self.g
            body = _Frame("body")
            self.frames.append(body)
            self.block(st.body)
            states = [(self.g, self.env)] + body.conts
            self.frames.pop()
            self.env = self.merge(states) if body.conts else self.env
            self.g = g_in if not body.escaped else tb.or_(*[s[0] for s in states])
            self.block(st.step)
            it += 1
        self.nest.pop()
        self.frames.pop()
        states = exits + loop_frame.breaks
        self.env = self.merge(states) if states else self.env
        self.g = g0 if not loop_frame.escaped else tb.or_(*[s[0] for s in states])

    def cut(self, span: Span) -> None:
        step = Step(len(self.u.steps), self.index, self.pos, self.g, (), span, None, None, True)
        self.u.steps.append(step)
        self.step_ids.append(step.id)
        self.pos += 1

    def call(self, st: ir.CallProc) -> None:
        tb = self.tb
        # each argument is its own statement-sized step: `f(x, y)` reads x and y in two steps
        args = [self.simple(getattr(a, "span", st.span), lambda a=a: self.expr(a)) for a in st.args]
        proc = self.u.prog.proc(st.proc)
        g0, env0 = self.g, dict(self.env)
        for p, a in zip(proc.params, args):
            self.env[p.uid] = a
        frame = _Frame("proc")
        self.frames.append(frame)
        self.nest.append(("call", st.span))
        self.block(proc.body)
        self.nest.pop()
        self.frames.pop()
        value: Term = tb.word(0)
        for g, _, v in reversed(frame.returns):
            if v is not None:
                value = tb.ite(g, v, value)
        # the caller goes on where the procedure returned or ended; unless a false assume
        # stopped the thread in it (NOTE(pure-assume) marks every frame escaped), that is `g0`
        self.g = tb.or_(self.g, *[g for g, _, _ in frame.returns]) if frame.escaped else g0
        self.env = env0
        if st.result is not None:
            self.env[st.result.uid] = value

    # ---- expressions
    def expr(self, e: ir.Expr) -> Term:
        tb = self.tb
        if isinstance(e, ir.Const):
            return tb.word(e.value)
        if isinstance(e, ir.Local):
            return self.env.get(e.var.uid, tb.word(0))
        if isinstance(e, ir.Current):
            if self.thread.current is None:
                raise error(e.span, f"'current' is used in thread {self.thread.name}, which names no task: declare it as 'thread {self.thread.name} (current = &task)'")
            return tb.word(self.layout.objects[self.thread.current].address)
        if isinstance(e, ir.Unary):
            return tb.unary(e.op, self.expr(e.operand))
        if isinstance(e, ir.Binary):
            if e.op in ("&&", "||"):
                a = tb.truth(self.expr(e.left))
                b = tb.truth(self.narrowed(a if e.op == "&&" else tb.not_(a), lambda: self.expr(e.right)))
                return tb.and_(a, b) if e.op == "&&" else tb.or_(a, b)
            left, right = self.expr(e.left), self.expr(e.right)
            if e.op in ("/", "%"):
                self.check("uaf", "", tb.cmp("!=", right, tb.word(0)), e.span, "division by zero")
            return tb.binary(e.op, left, right)
        if isinstance(e, ir.Ternary):
            c = tb.truth(self.expr(e.cond))
            a = self.narrowed(c, lambda: self.expr(e.then))
            b = self.narrowed(tb.not_(c), lambda: self.expr(e.other))
            return tb.ite(c, a, b)
        if isinstance(e, ir.AddressOf):
            addrs = [tb.word(self.layout.objects[o].address) for o in e.obj.candidates]
            return self.select(e.obj.index, addrs, e.span, "object array index out of bounds")
        if isinstance(e, ir.ConstField):
            conds, valid = self.objects_of(e.obj, e.pointer, e.struct, e.span, e.field)
            objs = self._candidate_objects(e.obj, e.struct)
            vals = [tb.word(dict(self.layout.objects[o].const_values)[e.field]) for o in objs]
            return self.choose(conds, valid, vals)
        if isinstance(e, ir.Read):
            loc, cands, valid = self.location(e.loc)
            read = self.event(READ, loc, cands, None, valid, e.mode, "read")
            assert read is not None
            return read
        if isinstance(e, ir.AtomicOp):
            return self.atomic_op(e)
        if isinstance(e, ir.RefOp):
            return self.ref_op(e)
        if isinstance(e, ir.Nondet):
            sym = self.u.fresh("choice")
            self.u.nondets.append((sym.name, e.limit))
            if self.pending is not None:
                self.pending.nondets.append((sym, e.limit))
            return sym
        raise AssertionError(f"unhandled expression {type(e).__name__}")

    def select(self, index: ir.Expr | Term | None, values: list[Term], span: Span, msg: str) -> Term:
        """values[index], with a uaf-kind check that the index is in bounds (index evaluated once)."""
        if index is None:
            return values[0]
        tb = self.tb
        i = index if isinstance(index, Term) else self.expr(index)
        self.check("uaf", "", tb.cmp("<", i, tb.word(len(values))), span, msg, access=True)
        out = values[-1]
        for k in range(len(values) - 2, -1, -1):
            out = tb.ite(tb.cmp("==", i, tb.word(k)), values[k], out)
        return out

    def objects_of(self, obj: ir.ObjectRef | None, pointer: ir.Expr | None, struct: str, span: Span,
                   what: str) -> tuple[list[Term], Term]:
        """For each candidate object, the condition that it is the one meant; plus validity."""
        tb = self.tb
        if obj is not None:
            if obj.index is None:
                return [TRUE], TRUE  # type: ignore[list-item]
            i = self.expr(obj.index)
            conds = [tb.cmp("==", i, tb.word(k)) for k in range(len(obj.candidates))]
            valid = tb.or_(*conds)
            self.check("uaf", "", valid, span, "object array index out of bounds", access=True)
            return conds, valid
        assert pointer is not None
        p = self.expr(pointer)
        conds = self.known([tb.cmp("==", p, tb.word(o.address)) for o in self.layout.objects if o.struct == struct])
        valid = tb.or_(*conds)
        self.check("uaf", "", valid, span, f"NULL or invalid pointer dereferenced ('->{what}' of a struct {struct} *)",
                   access=True)
        return conds, valid

    def known(self, conds: list[Term]) -> list[Term]:
        """Drop the candidates the path guard already rules out (p != &root inside a loop
        `for (; p != &root; ...)`), so walks up a hierarchy unroll exactly."""
        guard = self.cg
        facts = set(guard.args) if isinstance(guard, App) and guard.op == "and" else {guard}
        tb = self.tb
        return [FALSE if tb.not_(c) in facts else (TRUE if c in facts else c) for c in conds]

    def _candidate_objects(self, obj: ir.ObjectRef | None, struct: str) -> list[int]:
        if obj is not None:
            return list(obj.candidates)
        return [o.index for o in self.layout.objects if o.struct == struct]

    def choose(self, conds: list[Term], valid: Term, values: list[Term]) -> Term:
        """The value of the candidate whose condition holds (conditions are exclusive)."""
        pairs = [(c, v) for c, v in zip(conds, values) if c is not FALSE] or [(conds[-1], values[-1])]
        for c, v in pairs:
            if c is TRUE:
                return v
        out = pairs[-1][1]
        for c, v in reversed(pairs[:-1]):
            out = self.tb.ite(c, v, out)
        return out

    def location(self, loc: ir.SharedLoc) -> tuple[Term, tuple[int, ...], Term]:
        tb = self.tb
        if loc.name:
            ids = list(loc.candidates)
            if loc.index is None:
                return tb.word(ids[0]), (ids[0],), TRUE
            i = self.expr(loc.index)
            term = self.select(i, [tb.word(x) for x in ids], loc.span, f"index out of bounds for '{loc.name}'")
            return term, tuple(ids), tb.cmp("<", i, tb.word(len(ids)))
        objs = self._candidate_objects(loc.obj, loc.struct)
        conds, valid = self.objects_of(loc.obj, loc.pointer, loc.struct, loc.span, loc.field)
        ids = [self.layout.field_location(o, loc.field) for o, c in zip(objs, conds) if c is not FALSE]
        ids = ids or [self.layout.field_location(objs[-1], loc.field)]
        term = self.choose(conds, valid, [tb.word(self.layout.field_location(o, loc.field)) for o in objs])
        return term, tuple(ids), valid

    def write(self, loc: ir.SharedLoc, value: Term, mode: str) -> None:
        term, cands, valid = self.location(loc)
        self.event(WRITE, term, cands, self.tb.to_word(value), valid, mode, "write")

    def atomic_op(self, e: ir.AtomicOp) -> Term:
        tb = self.tb
        op = e.op
        args = [tb.to_word(self.expr(a)) for a in e.args]
        loc, cands, valid = self.location(e.loc)
        mode = ir.ATOMIC_ORDER[op]
        one = tb.word(1)
        if op == "spin_unlock":
            self.event(WRITE, loc, cands, tb.word(0), valid, mode, op)
            return tb.word(0)
        # the written value depends on the value read: build it from a placeholder symbol
        read = self.u.fresh("v")
        if op == "xchg":
            write, result = args[0], read
        elif op == "cmpxchg":
            write, result = tb.ite(tb.cmp("==", read, args[0]), args[1], read), read
        elif op == "try_cmpxchg":
            ok = tb.cmp("==", read, args[0])
            write, result = tb.ite(ok, args[1], read), tb.to_word(ok)
        elif op in ("set_bit", "test_and_set_bit"):
            bit = tb.binary("<<", one, args[0])
            write, result = tb.binary("|", read, bit), tb.to_word(tb.cmp("!=", tb.binary("&", read, bit), tb.word(0)))
        elif op in ("clear_bit", "test_and_clear_bit"):
            bit = tb.binary("<<", one, args[0])
            write = tb.binary("&", read, tb.unary("~", bit))
            result = tb.to_word(tb.cmp("!=", tb.binary("&", read, bit), tb.word(0)))
        elif op == "atomic_inc":
            write, result = tb.binary("+", read, one), tb.word(0)
        elif op == "atomic_dec":
            write, result = tb.binary("-", read, one), tb.word(0)
        elif op == "atomic_add":
            write, result = tb.binary("+", read, args[0]), tb.word(0)
        elif op == "atomic_sub":
            write, result = tb.binary("-", read, args[0]), tb.word(0)
        elif op == "atomic_dec_and_test":
            write = tb.binary("-", read, one)
            result = tb.to_word(tb.cmp("==", write, tb.word(0)))
        elif op == "atomic_inc_not_zero":
            nz = tb.cmp("!=", read, tb.word(0))
            write, result = tb.ite(nz, tb.binary("+", read, one), read), tb.to_word(nz)
        elif op == "spin_lock":
            write, result = one, tb.word(0)
            assert self.pending is not None
            self.wait(tb.cmp("==", read, tb.word(0)))
        else:
            raise AssertionError(f"unhandled atomic {op}")
        self.rmw(loc, cands, read, write, valid, mode, op)
        if op == "try_cmpxchg" and e.out is not None:
            old = self.env.get(e.out.uid, tb.word(0))
            # only when the try_cmpxchg is evaluated (not short-circuited away) may it change `old`
            self.set_local(e.out, tb.ite(tb.and_(self.cg, valid), tb.ite(tb.cmp("==", read, args[0]), old, read), old))
        return result

    def rmw(self, loc: Term, cands: tuple[int, ...], read: Sym, write: Term, valid: Term, mode: str, what: str) -> None:
        assert self.pending is not None
        self.pending.events.append(_EventSpec(RMW, loc, cands, read, write, self.tb.and_(self.cg, valid), mode, what))

    def ref_op(self, e: ir.RefOp) -> Term:
        tb = self.tb
        p = self.expr(e.pointer)
        objs = [o for o in self.layout.objects if o.struct == e.struct]
        conds = [tb.cmp("==", p, tb.word(o.address)) for o in objs]
        valid = tb.or_(*conds)
        # from here on the guard includes `valid` (NOTE(failed-access))
        self.check("uaf", "", valid, e.span, f"{e.op}() on a NULL or invalid pointer", access=True)
        locs = [self.layout.refcount_location(o.index) for o in objs]
        loc = self.choose(conds, valid, [tb.word(i) for i in locs])
        kill_bit = tb.word(self.layout.kill_bit)
        read = self.u.fresh("v")
        count = tb.binary("&", read, tb.unary("~", kill_bit))
        alive = tb.cmp("!=", count, tb.word(0))
        one = tb.word(1)
        result: Term = tb.word(0)
        if e.op == "refcount":
            self.pending.events.append(_EventSpec(READ, loc, tuple(locs), read, None, tb.and_(self.cg, valid), "once", "refcount"))  # type: ignore[union-attr]
            return count
        if e.op == "get":
            self.check("uaf", "", alive, e.span, "get() on a released object (its count was already 0)")
            write = tb.binary("+", read, one)
        elif e.op == "put":
            self.check("uaf", "", alive, e.span, "put() on a released object (its count was already 0)")
            write = tb.binary("-", read, one)
        elif e.op == "kill":
            self.check("uaf", "", tb.cmp("==", tb.binary("&", read, kill_bit), tb.word(0)), e.span, "kill() on an object already killed")
            self.check("uaf", "", alive, e.span, "kill() on a released object (its count was already 0)")
            write = tb.binary("-", tb.binary("|", read, kill_bit), one)
        elif e.op == "tryget":
            write, result = tb.ite(alive, tb.binary("+", read, one), read), tb.to_word(alive)
        elif e.op == "tryget_live":
            live = tb.and_(alive, tb.cmp("==", tb.binary("&", read, kill_bit), tb.word(0)))
            write, result = tb.ite(live, tb.binary("+", read, one), read), tb.to_word(live)
        else:
            raise AssertionError(e.op)
        self.rmw(loc, tuple(locs), read, write, valid, "ref", e.op)
        return result


def _check_message(st: ir.Check) -> str:
    if st.kind == "lost_update":
        return f"lost update{': ' + st.label if st.label else ''}"
    return f"assertion{' ' + st.label if st.label else ''} failed"


def unroll(prog: ir.Program) -> EventProgram:
    events = Unroller(prog).run()
    _check_encoding_size(events)
    return events


def encoding_pairs(prog: EventProgram) -> dict[int, tuple[int, int, int]]:
    """Location id -> (reads, writes, constraint triples) the encoder will build for it
    (NOTE(encode-limit)). Events of one thread are in program order (step position, then sub),
    as the encoder orders them; a read never reads a write of its own thread that comes after
    it, and for a write w the writes of w's thread before it are never between w and a read."""
    writers: dict[int, dict[int, list[tuple[int, int]]]] = {}   # loc -> thread -> sorted (pos, sub)
    reads: dict[int, list[Event]] = {}
    rmw_only: dict[int, bool] = {}
    for ev in prog.events:
        for c in ev.cands:
            if ev.kind in (WRITE, RMW):
                pos = prog.steps[ev.step].pos
                writers.setdefault(c, {}).setdefault(ev.thread, []).append((pos, ev.sub))
                rmw_only[c] = rmw_only.get(c, True) and ev.kind == RMW
            if ev.kind in (READ, RMW, FINAL):
                reads.setdefault(c, []).append(ev)
    out: dict[int, tuple[int, int, int]] = {}
    for c, rs in reads.items():
        by_thread = writers.get(c, {})
        for ws in by_thread.values():
            ws.sort()
        total = sum(len(ws) for ws in by_thread.values())
        pairs = 0
        for r in rs:
            own = by_thread.get(r.thread, []) if r.kind != FINAL else []
            if own:
                # the read's own writes after it (and itself, for an RMW) are not candidates
                later = len(own) - bisect.bisect_left(own, (prog.steps[r.step].pos, r.sub))
            else:
                later = 0
            n = total - later
            if rmw_only.get(c, True):
                pairs += n
                continue
            same = sum(k * (k - 1) // 2 for t, ws in by_thread.items()
                       for k in [len(ws) - later if t == r.thread else len(ws)])
            pairs += n + n * (n - 1) - same
        out[c] = (len(rs), total, pairs)
    return out


def _check_encoding_size(prog: EventProgram) -> None:
    sizes = encoding_pairs(prog)
    total = sum(p for _, _, p in sizes.values())
    if total <= MAX_PAIRS:
        return
    loc = max(sizes, key=lambda c: sizes[c][2])
    r, w, p = sizes[loc]
    name = prog.layout.locations[loc].name
    first = next(ev for ev in prog.events if ev.kind != FINAL and loc in ev.cands)
    raise error(prog.steps[first.step].span,
                f"too large to encode at bound {prog.bound}: location {name} has {r:,} reads and {w:,} writes "
                f"({p:,} constraint pairs; {total:,} for all locations, the limit is {MAX_PAIRS:,}); "
                "the encoding grows with reads x writes x writes of one location: "
                "use fewer threads or accesses to it, lower the bound, or give a loop whose condition is "
                f"constantly true a way out (it is unrolled up to {MAX_FREE_ITERATIONS} times)",
                f"this is the first access to {name}")
