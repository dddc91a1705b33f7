"""Statements in the resolve stage: each checked where it sits and turned into ir steps.

`StmtChecker` resolves the statements of a procedure, thread or common-path body: blocks and
their scopes, local declarations, assignments, branches and loops, `return`, `break`, atomic
blocks, procedure calls (recorded in the `CallGraph`) and the builtins that are statements.
Expressions go to the `ExprChecker`, and every simple statement past the `AtomicityRule`. A
statement with an error is dropped (`Bail`) once its diagnostic is recorded, and the next one
is resolved.
"""

from __future__ import annotations

from dataclasses import replace

from . import ir
from . import syntax as s
from .atomicity import AtomicityRule
from .calls import CallGraph
from .diagnostics import Span
from .exprs import ExprChecker
from .names import FENCES, LOCATION_ARG, STMT_BUILTINS, Bail, Ctx, Names, Scope
from .spin_loops import why_not_spin


class StmtChecker:
    """Resolves statements, blocks and the calls they make."""

    def __init__(self, names: Names, exprs: ExprChecker, atomicity: AtomicityRule, graph: CallGraph) -> None:
        self.names = names
        self.exprs = exprs
        self.atomicity = atomicity
        self.graph = graph
        self.err, self.bail = names.err, names.bail

    def block(self, stmts: tuple[s.Stmt, ...], scope: Scope, ctx: Ctx) -> tuple[ir.Stmt, ...]:
        """The statements of a block; one with an error is left out, the others are kept."""
        out: list[ir.Stmt] = []
        for st in stmts:
            try:
                out.extend(self._stmt(st, scope, ctx))
            except Bail:
                pass
        return tuple(out)

    def _sub(self, st: s.Stmt, scope: Scope, ctx: Ctx) -> tuple[ir.Stmt, ...]:
        body = st.body if isinstance(st, s.Block) else (st,)
        return self.block(body, Scope(parent=scope), ctx)

    def _stmt(self, st: s.Stmt, scope: Scope, ctx: Ctx) -> list[ir.Stmt]:
        if isinstance(st, s.Block):
            return [ir.Seq(self.block(st.body, Scope(parent=scope), ctx), st.span)]
        if isinstance(st, s.Empty):
            return []
        if isinstance(st, s.LocalDecl):
            out: list[ir.Stmt] = []
            for dcl in st.declarators:
                t = self.names.type(dcl.type)
                if dcl.size is not None:
                    elements = self.exprs.local_arrays.declare(scope, dcl, t, lambda x: self.exprs.expr(x, scope, ctx))
                    out += [self.atomicity.statement(a, ctx) for a in elements]
                    continue
                init = dcl.init
                assert not isinstance(init, tuple)
                if isinstance(init, s.Call) and init.func in self.names.procs:
                    call = self._call_proc(init, scope, ctx)
                    var = self.names.new_local(scope, dcl.name, t, dcl.span)
                    out.append(ir.CallProc(call.proc, call.args, var, dcl.span))
                    self._check_proc_value(init, dcl.span)
                    continue
                value = self.exprs.expr(init, scope, ctx) if init is not None else ir.Const(0, t)
                var = self.names.new_local(scope, dcl.name, t, dcl.span)
                out.append(self.atomicity.statement(ir.AssignLocal(var, value, dcl.span), ctx))
            return out
        if isinstance(st, s.Assign):
            return [self._assign(st, scope, ctx)]
        if isinstance(st, s.ExprStmt):
            return [self._expr_stmt(st, scope, ctx)]
        if isinstance(st, s.If):
            cond = self.exprs.expr(st.cond, scope, ctx)
            self.atomicity.statement(ir.Eval(cond, st.cond.span), ctx)
            other = self._sub(st.other, scope, ctx) if st.other is not None else ()
            return [ir.If(cond, self._sub(st.then, scope, ctx), other, st.span)]
        if isinstance(st, (s.While, s.DoWhile, s.For)):
            return self._loop(st, scope, ctx)
        if isinstance(st, (s.Break, s.Continue)):
            word = "break" if isinstance(st, s.Break) else "continue"
            if ctx.loop_depth == 0:
                raise self.bail(st.span, f"'{word}' outside a loop")
            return [ir.Break(st.span) if isinstance(st, s.Break) else ir.Continue(st.span)]
        if isinstance(st, s.Return):
            return self._return(st, scope, ctx)
        if isinstance(st, s.Atomic):
            if ctx.in_atomic:
                return [ir.Seq(self.block(st.body.body, Scope(parent=scope), ctx), st.span)]
            inner = Ctx(ctx.proc, ctx.current_type, 0, True)
            body = self.block(st.body.body, Scope(parent=scope), inner)
            self.atomicity.atomic_block(body)
            return [ir.Atomic(body, st.span)]
        raise AssertionError(f"unhandled statement {type(st).__name__}")

    def _loop(self, st: s.While | s.DoWhile | s.For, scope: Scope, ctx: Ctx) -> list[ir.Stmt]:
        if ctx.in_atomic:
            raise self.bail(st.span, "loops are not allowed inside an atomic block (an atomic step must be straight-line code)")
        inner = Ctx(ctx.proc, ctx.current_type, ctx.loop_depth + 1, False)
        if isinstance(st, s.For):
            loop_scope = Scope(parent=scope)
            init = self._stmt(st.init, loop_scope, ctx) if st.init is not None else []
            cond = self.exprs.expr(st.cond, loop_scope, ctx) if st.cond is not None else ir.Const(1)
            self.atomicity.statement(ir.Eval(cond, st.span), ctx)
            body = self._sub(st.body, loop_scope, inner)
            step = tuple(self._stmt(st.step, loop_scope, ctx)) if st.step is not None else ()
            return [ir.Seq(tuple(init) + (_spin_marked(ir.Loop(cond, body, step, True, st.span)),), st.span)]
        cond = self.exprs.expr(st.cond, scope, ctx)
        self.atomicity.statement(ir.Eval(cond, st.cond.span), ctx)
        body = self._sub(st.body, scope, inner)
        return [_spin_marked(ir.Loop(cond, body, (), isinstance(st, s.While), st.span))]

    def _return(self, st: s.Return, scope: Scope, ctx: Ctx) -> list[ir.Stmt]:
        if ctx.in_atomic:
            raise self.bail(st.span, "'return' is not allowed inside an atomic block")
        if ctx.proc == "thread":
            if st.value is not None:
                raise self.bail(st.value.span, "a thread's 'return' takes no value")
            return [ir.Return(None, st.span)]
        rtype = ctx.proc
        if st.value is None:
            if rtype is not None:
                raise self.bail(st.span, "this procedure returns a value: expected 'return <expression>;'")
            return [ir.Return(None, st.span)]
        if rtype is None:
            raise self.bail(st.value.span, "a void procedure cannot return a value")
        if isinstance(st.value, s.Call) and st.value.func in self.names.procs:
            call = self._call_proc(st.value, scope, ctx)
            tmp = self.names.temp(f"{st.value.func}()", rtype if isinstance(rtype, ir.Type) else ir.WORD)
            self._check_proc_value(st.value, st.span)
            return [ir.CallProc(call.proc, call.args, tmp, st.span), ir.Return(ir.Local(tmp, st.span), st.span)]
        value = self.exprs.expr(st.value, scope, ctx)
        self.atomicity.statement(ir.Eval(value, st.span), ctx)
        return [ir.Return(value, st.span)]

    def _assign(self, st: s.Assign, scope: Scope, ctx: Ctx) -> ir.Stmt:
        target = st.target
        if isinstance(target, s.Name) and self.names.local_array(scope, target.ident) is not None:
            raise self.bail(target.span, f"'{target.ident}' is a local array: assign its elements, as in '{target.ident}[0] = ...'")
        if isinstance(st.value, s.Call) and st.value.func in self.names.procs:
            call = self._call_proc(st.value, scope, ctx)
            self._check_proc_value(st.value, st.span)
            if isinstance(target, s.Name) and scope.lookup(target.ident) is not None:
                return ir.CallProc(call.proc, call.args, scope.lookup(target.ident), st.span)
            raise self.bail(target.span, "a procedure's result can only be assigned to a local variable")
        value = self.exprs.expr(st.value, scope, ctx)
        if isinstance(target, s.Name) and scope.lookup(target.ident) is not None:
            return self.atomicity.statement(ir.AssignLocal(scope.lookup(target.ident), value, st.span), ctx)  # type: ignore[arg-type]
        if isinstance(target, s.Index) and isinstance(target.base, s.Name):
            elements = self.names.local_array(scope, target.base.ident)
            if elements is not None:
                self.atomicity.statement(ir.Eval(value, st.span), ctx)
                return self.exprs.local_arrays.write(elements, target.base.ident, target, value,
                                                     lambda x: self.exprs.expr(x, scope, ctx), st.span)
        loc = self.exprs.location(target, scope, ctx, writing=True)
        return self.atomicity.statement(ir.AssignShared(loc, value, "plain", st.span), ctx)

    def _check_proc_value(self, call: s.Call, span: Span) -> None:
        proc = self.names.procs[call.func]
        if proc.returns is None:
            self.err(span, f"procedure '{call.func}' returns no value (it is declared void)")

    def _call_proc(self, call: s.Call, scope: Scope, ctx: Ctx) -> ir.CallProc:
        proc = self.names.procs[call.func]
        self.graph.record(call.func)
        if len(call.args) != len(proc.params):
            raise self.bail(call.span, f"procedure '{call.func}' takes {len(proc.params)} argument(s), {len(call.args)} given")
        args = tuple(self.exprs.expr(a, scope, ctx) for a in call.args)
        for a in args:
            self.atomicity.statement(ir.Eval(a, call.span), ctx)
        return ir.CallProc(call.func, args, None, call.span)

    def _expr_stmt(self, st: s.ExprStmt, scope: Scope, ctx: Ctx) -> ir.Stmt:
        e = st.expr
        if isinstance(e, s.Call):
            if e.func in self.names.procs:
                return self._call_proc(e, scope, ctx)
            if e.func in STMT_BUILTINS:
                return self._stmt_builtin(e, scope, ctx)
        value = self.exprs.expr(e, scope, ctx)
        return self.atomicity.statement(ir.Eval(value, st.span), ctx)

    def _stmt_builtin(self, call: s.Call, scope: Scope, ctx: Ctx) -> ir.Stmt:
        self.exprs.arity(call, STMT_BUILTINS)
        f, args, span = call.func, call.args, call.span
        if f == "holds":
            raise self.bail(span, "'holds' is only allowed in the 'final' block: it says which references owners "
                                  "keep at the end of the run", "final { holds(p); }")
        if f in FENCES:
            # RCU keeps released objects' memory valid and fences order nothing under sequential
            # consistency: no step (docs/semantics.md); the LKMM reads the tag (docs/lkmm.md)
            return ir.Fence((), span, FENCES[f])
        if f in ("assert", "lost_update"):
            label = ""
            if len(args) == 2:
                if not isinstance(args[1], s.Str):
                    raise self.bail(args[1].span, f"the second argument of '{f}' must be a string label")
                label = args[1].text
            cond = self.exprs.expr(args[0], scope, ctx)
            return self.atomicity.statement(ir.Check(f, label, cond, span), ctx)
        if f == "assume":
            return self.atomicity.statement(ir.Assume(self.exprs.expr(args[0], scope, ctx), span), ctx)
        if f == "await":
            return self.atomicity.statement(ir.Await(self.exprs.expr(args[0], scope, ctx), span), ctx)
        if f in ("get", "put", "kill"):
            return self.atomicity.statement(ir.Eval(self.exprs.ref_op(call, scope, ctx), span), ctx)
        loc = self.exprs.location_arg(call, scope, ctx)
        if f in ("WRITE_ONCE", "atomic_set", "smp_store_release", "rcu_assign_pointer"):
            value = self.exprs.expr(args[1], scope, ctx)
            mode = "once" if f in ("WRITE_ONCE", "atomic_set") else "release"
            return self.atomicity.statement(ir.AssignShared(loc, value, mode, span), ctx)
        others = tuple(self.exprs.expr(a, scope, ctx) for i, a in enumerate(args) if i != LOCATION_ARG[f])
        if f in ("spin_lock", "spin_unlock") and loc.ghost:
            pass
        return self.atomicity.statement(ir.Eval(ir.AtomicOp(f, loc, others, None, ir.WORD, span), span), ctx)


def _spin_marked(loop: ir.Loop) -> ir.Loop:
    """The loop, marked when it is a spin loop (docs/semantics.md, "Spin loops")."""
    return replace(loop, spin=True) if why_not_spin(loop) is None else loop
