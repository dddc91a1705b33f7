"""A thread's statements into its control-flow graph (continuation passing: each returns the
entry of its code, given the instruction `k` that follows): sequences, assignments, checks,
waits, branches, loops, `break`/`continue`/`return`, and procedure calls inlined per call site
(atomic blocks are atomic.py)."""

from __future__ import annotations

from dataclasses import replace

from ...lang import ir
from ...lang.diagnostics import Diagnostic, UserError
from .atomic import AtomicBlocks
from .cfg import Ctx, Goto, Instr
from .context import ExportContext
from .graph import ThreadGraph
from .spins import SpinIteration
from .unit import Unit
from .waits import WaitConditions


def build_thread(x: ExportContext, thread: ir.Thread) -> ThreadGraph:
    """The control-flow graph of one thread, every procedure it calls inlined."""
    graph = ThreadGraph(x, thread)
    graph.entry = Statements(graph).seq(thread.body, graph.finish, Ctx(0))
    return graph


class Statements:
    """The statements of one thread, translated into its graph `g`."""

    def __init__(self, graph: ThreadGraph) -> None:
        self.g = graph
        self.x = graph.x
        self.vars = graph.vars
        self.instances = 0    # inlined calls so far: each gets its own names for the callee's locals
        self.atomics = AtomicBlocks(graph, self.seq)

    # ---- statements (continuation passing: each returns the entry of its code, given `k`)
    def seq(self, stmts: tuple[ir.Stmt, ...], k: int, ctx: Ctx) -> int:
        for st in reversed(stmts):
            k = self.stmt(st, k, ctx)
        return k

    def stmt(self, st: ir.Stmt, k: int, ctx: Ctx) -> int:
        if isinstance(st, ir.Seq):
            return self.seq(st.body, k, ctx)
        if isinstance(st, ir.AssignLocal):
            return self.g.unit(st.span, ctx, lambda u: u.lines.append(f"{self.vars.local(st.var, ctx)} = {u.ev(st.value)};"), k)
        if isinstance(st, ir.AssignShared):
            def assign(u: Unit) -> None:
                loc = st.loc
                v = u.freeze(u.ev(st.value), loc.index or loc.pointer or (loc.obj.index if loc.obj else None))
                acc = u.location(loc)
                u.shared = True
                u.access(acc, lambda lv: [f"{lv} = {v};"])
            return self.g.unit(st.span, ctx, assign, k)
        if isinstance(st, ir.Eval):
            if isinstance(st.expr, ir.AtomicOp) and st.expr.op == "spin_lock":
                loc = st.expr.loc

                def lock(k2: int) -> int:
                    return self.g.unit(st.span, ctx, lambda u: u.ev(st.expr) and None, k2,
                                       guard=lambda u: WaitConditions(u).lock_guard(loc, st.span))
                return lock(k) if ctx.in_atomic else self.g.choosing([loc], k, lock, st.span)
            return self.g.unit(st.span, ctx, lambda u: u.ev(st.expr) and None, k)
        if isinstance(st, ir.Check):
            name = ir.property_name(st.kind, st.label, st.span)
            return self.g.unit(st.span, ctx, lambda u: u.lines.extend(self.vars.check(name, f"({u.ev(st.cond)} != 0)")), k)
        if isinstance(st, ir.Await):
            def wait(k2: int) -> int:
                return self.g.unit(st.span, ctx, lambda u: u.ev(st.cond) and None, k2,
                                   guard=lambda u: WaitConditions(u).wait_guard(st.cond, st.span))
            return wait(k) if ctx.in_atomic else self.g.choosing([st.cond], k, wait, st.span)
        if isinstance(st, ir.Assume):
            return self.assume(st, k, ctx)
        if isinstance(st, ir.If):
            then = self.seq(st.then, k, ctx)
            other = self.seq(st.other, k, ctx)
            span = getattr(st.cond, "span", st.span)
            return self.g.unit(span, ctx, lambda u: (f"({u.ev(st.cond)} != 0)", then, other), -1)
        if isinstance(st, ir.Loop):
            return self.loop(st, k, ctx)
        if isinstance(st, ir.Break):
            assert ctx.brk is not None
            return ctx.brk
        if isinstance(st, ir.Continue):
            assert ctx.cont is not None
            return ctx.cont
        if isinstance(st, ir.Return):
            if ctx.exit is None:
                return self.g.finish
            if st.value is None:
                return ctx.exit
            ret, value = ctx.ret, st.value
            return self.g.unit(st.span, ctx, lambda u: u.lines.append(f"{ret} = {u.ev(value)};") if ret else u.ev(value) and None,
                               ctx.exit)
        if isinstance(st, ir.CallProc):
            return self.call(st, k, ctx)
        if isinstance(st, ir.Atomic):
            return self.atomics.block(st, k, ctx)
        raise AssertionError(f"unhandled statement {type(st).__name__}")

    def assume(self, st: ir.Assume, k: int, ctx: Ctx) -> int:
        if ctx.in_atomic:
            # the block can only run if the assume holds: if not, undo it (a self-loop)
            assert ctx.rollback is not None
            undo = ctx.rollback
            return self.g.unit(st.span, ctx, lambda u: (f"({u.ev(st.cond)} != 0)", k, undo), -1)
        probe = Unit(self.vars, ctx)
        probe.ev(st.cond)
        if not probe.shared:
            # a local unit: a false assume stops the thread for good
            return self.g.unit(st.span, ctx, lambda u: (f"({u.ev(st.cond)} != 0)", k, self.g.stop), -1)
        # a step: it can only run when the condition holds; until then the thread waits there,
        # without being blocked (docs/semantics.md, "Properties": neither finished nor blocked)
        return self.g.choosing([st.cond], k, lambda k2: self.g.unit(st.span, ctx, lambda u: u.ev(st.cond) and None, k2,
                                                                    guard=lambda u: WaitConditions(u).wait_guard(st.cond, st.span),
                                                                    assume=True), st.span)

    def loop(self, st: ir.Loop, k: int, ctx: Ctx) -> int:
        if ctx.in_atomic:
            raise UserError(Diagnostic(st.span, "a loop inside an atomic block (here reached through a procedure call): "
                                                "an atomic step must be straight-line code"))
        if st.spin:
            return self.spin_loop(st, k, ctx)
        head = self.g.add(Instr([], None))
        step = self.seq(st.step, head, ctx)
        body = self.seq(st.body, step, replace(ctx, brk=k, cont=step))
        span = getattr(st.cond, "span", st.span)
        cond = self.g.unit(span, ctx, lambda u: (f"({u.ev(st.cond)} != 0)", body, k), -1)
        self.g.instrs[head] = self.g.instrs[cond]
        self.g.instrs[cond] = Instr([], Goto(head))
        return head if st.cond_first else body

    def spin_loop(self, st: ir.Loop, k: int, ctx: Ctx) -> int:
        """docs/semantics.md, "Spin loops": an iteration that goes round again leads to a wait
        node whose guard is that one iteration, run now in one go, would leave the loop (or fail
        an access): the thread waits there, blocked when nothing else can move (a deadlock), and
        then runs the next iteration as the first, step by step. The iterations it runs again
        change nothing the semantics' one iteration could not show."""
        head = self.g.add(Instr([], None))      # the condition
        restart = self.g.add(Instr([], None))   # where the next iteration starts
        span = getattr(st.cond, "span", st.span)
        wait = self.g.unit(st.span, ctx, lambda u: None, restart,
                           guard=lambda u: SpinIteration(u).exit_guard(st))
        round_ = wait if st.cond_first else head
        body = self.seq(st.body, round_, replace(ctx, brk=k, cont=round_))
        cond = self.g.unit(span, ctx, lambda u: (f"({u.ev(st.cond)} != 0)", body if st.cond_first else wait, k), -1)
        self.g.instrs[head] = self.g.instrs[cond]
        self.g.instrs[cond] = Instr([], Goto(head))
        entry = head if st.cond_first else body
        self.g.instrs[restart] = Instr([], Goto(entry))
        return entry

    def call(self, st: ir.CallProc, k: int, ctx: Ctx) -> int:
        proc = self.x.prog.proc(st.proc)
        self.instances += 1
        inner_locals: list[str] = []
        inner = Ctx(self.instances, exit=None, ret=self.vars.local(st.result, ctx) if st.result else None,
                    in_atomic=ctx.in_atomic, locals=inner_locals, rollback=ctx.rollback)
        exit_ = self.g.add(Instr([], Goto(k)))
        fall = self.g.add(Instr([f"{inner.ret} = 0;"] if inner.ret else [], Goto(exit_)))
        inner = replace(inner, exit=exit_)
        body = self.seq(proc.body, fall, inner)
        params = [self.vars.local(p, inner) for p in proc.params]
        self.g.instrs[exit_].code = [f"{name} = 0;" for name in inner_locals]
        if not st.args:
            return body

        # docs/semantics.md, "Units": each argument of a call is its own unit, left to right,
        # evaluated straight into the parameter (the caller's locals are other names)
        nxt = body
        for param, arg in reversed(list(zip(params, st.args))):
            def assign(u: Unit, param: str = param, arg: ir.Expr = arg) -> None:
                u.lines.append(f"{param} = {u.ev(arg)};")
            nxt = self.g.unit(getattr(arg, "span", st.span), ctx, assign, nxt)
        return nxt

