"""Expressions in the resolve stage: each bound and typed, shared locations named.

`ExprChecker` turns a syntax expression into an `ir.Expr` of known type: names bound through
the scopes and the global `Names`, casts, the type of an operator's result, the shared word a
location names (`x`, `a[i]`, `obj.field`, `ptr->field`) and the builtins that have a value
(atomics, refcount operations, `nondet`). The statement checker calls it, and uses its
location and argument checks for the builtins that are statements.
"""

from __future__ import annotations

import difflib

from . import ir
from . import syntax as s
from .constants import Constants
from .diagnostics import Span
from .local_arrays import LocalArrays
from .names import EXPR_BUILTINS, LOCATION_ARG, LOCATION_BY_VALUE, STMT_BUILTINS, Ctx, Names, Scope


class ExprChecker:
    """Resolves and types expressions and the shared locations they name."""

    def __init__(self, names: Names, constants: Constants) -> None:
        self.names = names
        self.constants = constants
        self.bail = names.bail
        self.local_arrays = LocalArrays(names, constants)

    def expr(self, e: s.Expr, scope: Scope, ctx: Ctx) -> ir.Expr:
        """`e` bound in `scope` and typed; a cast only changes the type (`v | 0`)."""
        span = e.span
        if isinstance(e, s.Num):
            return ir.Const(self.constants.literal(e), ir.WORD, span)
        if isinstance(e, s.Null):
            return ir.Const(0, ir.NULL_PTR, span)
        if isinstance(e, s.Str):
            raise self.bail(span, "a string is only allowed as the label of assert() or lost_update()")
        if isinstance(e, s.Name):
            return self._name(e, scope, ctx)
        if isinstance(e, s.Unary):
            v = self.expr(e.operand, scope, ctx)
            return ir.Unary(e.op, v, ir.WORD, span)
        if isinstance(e, s.Binary):
            left, right = self.expr(e.left, scope, ctx), self.expr(e.right, scope, ctx)
            return ir.Binary(e.op, left, right, binary_type(e.op, type_of(left), type_of(right)), span)
        if isinstance(e, s.Ternary):
            c, a, b = (self.expr(x, scope, ctx) for x in (e.cond, e.then, e.other))
            return ir.Ternary(c, a, b, type_of(a) if type_of(a) != ir.NULL_PTR else type_of(b), span)
        if isinstance(e, s.Cast):
            v = self.expr(e.operand, scope, ctx)
            t = self.names.type(e.type)
            return ir.Binary("|", v, ir.Const(0), t, span)
        if isinstance(e, s.AddressOf):
            ref = self.object_ref(e.operand, scope, ctx)
            if ref is None:
                return self._word_address(e, scope, ctx)
            return ir.AddressOf(ref, ir.Type(self.names.object_infos[ref.candidates[0]].struct, True), span)
        if isinstance(e, s.Deref):
            return ir.Read(self.location(e, scope, ctx, writing=False), "plain", span)
        if isinstance(e, s.Index) and isinstance(e.base, s.Name):
            elements = self.names.local_array(scope, e.base.ident)
            if elements is not None:
                return self.local_arrays.read(elements, e.base.ident, e, lambda x: self.expr(x, scope, ctx))
        if isinstance(e, (s.FieldAccess, s.ArrowAccess, s.Index)):
            loc = self.location(e, scope, ctx, writing=False)
            if isinstance(loc, ir.ConstField):
                return loc
            return ir.Read(loc, "plain", span)
        if isinstance(e, s.Call):
            return self._call(e, scope, ctx)
        raise AssertionError(f"unhandled expression {type(e).__name__}")

    def _word_address(self, e: s.AddressOf, scope: Scope, ctx: Ctx) -> ir.WordAddress:
        """`&memcg->objcgs[nid]`: the address of a shared word of type `struct S *`, a
        `struct S **` (NOTE(word-addresses) in lang/ir.py)."""
        if not isinstance(e.operand, (s.Name, s.Index, s.FieldAccess, s.ArrowAccess, s.Deref)) or (
                isinstance(e.operand, s.Name) and scope.lookup(e.operand.ident) is not None):
            raise self.bail(e.span, "'&' takes an object, or a shared word holding a struct pointer "
                                    "(a pointer to a pointer); other addresses only as the location argument of an atomic operation")
        loc = self.location(e.operand, scope, ctx, writing=False)
        if isinstance(loc, ir.ConstField):
            raise self.bail(e.span, f"'{loc.field}' is a const field: it has no address")
        if not loc.type.pointer or loc.type.indirect or loc.ghost:
            what = "a ghost" if loc.ghost else f"a {loc.type}"
            raise self.bail(e.span, f"the address of {what} is not a value: only a shared word holding a struct pointer "
                                    "has one (a pointer to a pointer); other addresses only as the location argument of an atomic operation")
        return ir.WordAddress(loc, ir.Type(loc.type.struct_name, True, True), e.span)

    def _name(self, e: s.Name, scope: Scope, ctx: Ctx) -> ir.Expr:
        var = scope.lookup(e.ident)
        if var is not None:
            if var.uid in self.names.local_arrays:
                raise self.bail(e.span, f"'{e.ident}' is a local array: index it, as in '{e.ident}[0]'")
            return ir.Local(var, e.span)
        if e.ident == "current":
            if ctx.current_type is None:
                raise self.bail(e.span, "'current' is only defined in a thread declared with '(current = &task)'"
                                if ctx.proc == "thread" else "a 'final' block runs in no thread: it has no 'current'"
                                if ctx.proc == "final" else "'current' needs every thread to name a task of one struct type")
            return ir.Current(ctx.current_type, e.span)
        if e.ident in self.names.consts:
            return ir.Const(self.names.consts[e.ident], ir.WORD, e.span)
        if e.ident in self.names.shared:
            t, ghost, ids, is_array = self.names.shared[e.ident]
            if is_array:
                raise self.bail(e.span, f"'{e.ident}' is an array: index it, as in '{e.ident}[0]'")
            return ir.Read(ir.SharedLoc(t, ghost, e.ident, tuple(ids), None, span=e.span), "plain", e.span)
        if e.ident in self.names.objects:
            raise self.bail(e.span, f"'{e.ident}' is an object: use '&{e.ident}' for its address or '{e.ident}.field' for a field")
        if e.ident in self.names.procs:
            raise self.bail(e.span, f"'{e.ident}' is a procedure: call it as '{e.ident}(...)'")
        raise self.bail(e.span, f"unknown name '{e.ident}'")

    def object_ref(self, e: s.Expr, scope: Scope, ctx: Ctx) -> ir.ObjectRef | None:
        """`obj` or `arr[i]` naming a declared object, its index resolved here; None if `e` is not one."""
        return self.names.object_ref(e, scope, lambda index: self.expr(index, scope, ctx))

    def location(self, e: s.Expr, scope: Scope, ctx: Ctx, writing: bool) -> ir.SharedLoc:
        """A shared memory word named by `e` (or a ConstField when reading a const field)."""
        span = e.span
        if isinstance(e, s.Name):
            if scope.lookup(e.ident) is not None:
                raise self.bail(span, f"'{e.ident}' is a local variable, not shared state")
            if e.ident in self.names.shared:
                t, ghost, ids, is_array = self.names.shared[e.ident]
                if is_array:
                    raise self.bail(span, f"'{e.ident}' is an array: index it, as in '{e.ident}[0]'")
                return ir.SharedLoc(t, ghost, e.ident, tuple(ids), None, span=span)
            self._name(e, scope, ctx)
            raise self.bail(span, f"'{e.ident}' is not a shared variable or field")
        if isinstance(e, s.Index):
            if isinstance(e.base, s.Name) and e.base.ident in self.names.shared and self.names.shared[e.base.ident][3]:
                t, ghost, ids, _ = self.names.shared[e.base.ident]
                idx = self.expr(e.index, scope, ctx)
                if isinstance(idx, ir.Const):
                    if not 0 <= idx.value < len(ids):
                        raise self.bail(e.index.span, f"index {idx.value} is out of bounds for '{e.base.ident}[{len(ids)}]'")
                    return ir.SharedLoc(t, ghost, e.base.ident, (ids[idx.value],), None, span=span)
                return ir.SharedLoc(t, ghost, e.base.ident, tuple(ids), idx, span=span)
            if isinstance(e.base, (s.FieldAccess, s.ArrowAccess)):
                st, ref, ptr = self._field_base(e.base, scope, ctx)
                return self._field_loc(st, e.base.name, span, writing, ref, ptr, element=e.index, scope=scope, ctx=ctx)  # type: ignore[return-value]
            if isinstance(e.base, s.Name) and self.names.local_array(scope, e.base.ident) is not None:
                raise self.bail(span, f"'{e.base.ident}' is a local array, not shared state")
            raise self.bail(span, "only shared arrays, object arrays, array fields and local arrays can be indexed")
        if isinstance(e, (s.FieldAccess, s.ArrowAccess)):
            st, ref, ptr = self._field_base(e, scope, ctx)
            return self._field_loc(st, e.name, span, writing, ref, ptr)  # type: ignore[return-value]
        if isinstance(e, s.Deref):
            return self.deref(self.expr(e.operand, scope, ctx), e.operand.span, span)
        raise self.bail(span, "expected a shared location: a shared variable, 'obj.field' or 'ptr->field'")

    def deref(self, pp: ir.Expr, pp_span: Span, span: Span) -> ir.SharedLoc:
        """`*pp`: the word a `struct S **` points to (NOTE(word-addresses) in lang/ir.py)."""
        t = type_of(pp)
        if not t.indirect:
            raise self.bail(pp_span, f"'*' needs a pointer to a pointer (struct S **), not a {t}",
                            "use '->' through a struct pointer")
        assert t.struct_name is not None and self.names.layout is not None
        if not self.names.layout.pointer_words(t.struct_name):
            raise self.bail(pp_span, f"'*' through a 'struct {t.struct_name} **', but no shared word holds a 'struct {t.struct_name} *', "
                                     "so the pointer can never be valid")
        return ir.SharedLoc(t.target, False, "", (), None, None, pp, t.struct_name, "", span)

    def _field_base(self, e: s.FieldAccess | s.ArrowAccess, scope: Scope,
                    ctx: Ctx) -> tuple[ir.StructInfo, ir.ObjectRef | None, ir.Expr | None]:
        """The struct and the object (`obj.f`) or pointer (`p->f`) a field access goes through."""
        if isinstance(e, s.FieldAccess):
            ref = self.object_ref(e.base, scope, ctx)
            if ref is None:
                raise self.bail(e.base.span, "'.' needs a declared object on its left (use '->' through a pointer)")
            return self.names.structs[self.names.object_infos[ref.candidates[0]].struct], ref, None
        ptr = self.expr(e.base, scope, ctx)
        t = type_of(ptr)
        if t.indirect:
            raise self.bail(e.base.span, f"'->' needs a pointer to a struct, not a {t}",
                            f"dereference it first, as in '(*pp)->{e.name}'")
        if not t.pointer or t.struct_name is None:
            raise self.bail(e.base.span, f"'->' needs a pointer to a struct, not a {t}",
                            "cast it, as in '((struct S *)p)->field'")
        st = self.names.structs.get(t.struct_name)
        if st is None:
            raise self.bail(e.base.span, f"'->' through a pointer to struct '{t.struct_name}', which is not declared")
        self._need_objects(st.name, e.base.span, f"'->{e.name}'")
        return st, None, ptr

    def _need_objects(self, struct: str, span: Span, what: str) -> None:
        """A pointer to a struct no object has can never be valid: every access through one
        would fail, so the model is refused rather than checked (the engines need at least one
        candidate object to name the location an access may reach)."""
        if not any(o.struct == struct for o in self.names.object_infos):
            raise self.bail(span, f"{what} through a 'struct {struct} *', but no object of struct {struct} is declared, "
                                  "so the pointer can never be valid", f"declare one, as in 'object struct {struct} x;'")

    def _field_loc(self, st: ir.StructInfo, name: str, span: Span, writing: bool,
                   obj: ir.ObjectRef | None = None, pointer: ir.Expr | None = None, element: s.Expr | None = None,
                   scope: Scope | None = None, ctx: Ctx | None = None) -> ir.SharedLoc | ir.ConstField:
        f = st.field(name)
        if f is None:
            known = ", ".join(x.name for x in st.fields) or "none"
            raise self.bail(span, f"struct {st.name} has no field '{name}' (its fields: {known})")
        if element is not None:
            if f.size is None:
                raise self.bail(span, f"field '{name}' of struct {st.name} is not an array and cannot be indexed")
            assert scope is not None and ctx is not None
            idx = self.expr(element, scope, ctx)
            if not isinstance(idx, ir.Const):
                return ir.SharedLoc(f.type, False, "", (), idx, obj, pointer, st.name, name, span)
            if not 0 <= idx.value < f.size:
                raise self.bail(element.span, f"index {idx.value} is out of bounds for '{name}[{f.size}]'")
            return ir.SharedLoc(f.type, False, "", (), None, obj, pointer, st.name, ir.element_name(name, idx.value), span)
        if f.size is not None:
            raise self.bail(span, f"'{name}' is an array field of struct {st.name}: index it, as in '{name}[0]'")
        if f.const:
            if writing:
                raise self.bail(span, f"field '{name}' of struct {st.name} is declared const and cannot be written")
            return ir.ConstField(obj, pointer, st.name, name, f.type, span)
        return ir.SharedLoc(f.type, False, "", (), None, obj, pointer, st.name, name, span)

    def _call(self, call: s.Call, scope: Scope, ctx: Ctx) -> ir.Expr:
        f, args, span = call.func, call.args, call.span
        if f in self.names.procs:
            raise self.bail(span, f"a call of procedure '{f}' must be a statement or the whole right-hand side of an assignment or return")
        if f in STMT_BUILTINS:
            raise self.bail(span, f"'{f}' is a statement and has no value")
        if f not in EXPR_BUILTINS:
            raise self.bail(span, f"unknown procedure or builtin '{f}'", *self._did_you_mean(f))
        self.arity(call, EXPR_BUILTINS)
        if f in ("likely", "unlikely"):
            return self.expr(args[0], scope, ctx)
        if f == "nondet":
            limit = None
            if args:
                limit = self.constants.const_eval(args[0])
                if limit < 1:
                    raise self.bail(args[0].span, "nondet(n) needs n >= 1")
            return ir.Nondet(limit, span)
        if f in ("tryget", "tryget_live", "refcount"):
            return self.ref_op(call, scope, ctx)
        loc = self.location_arg(call, scope, ctx)
        if f in ("READ_ONCE", "rcu_dereference", "atomic_read"):
            return ir.Read(loc, "once", span)
        if f == "smp_load_acquire":
            return ir.Read(loc, "acquire", span)
        out = None
        kind = ir.ATOMIC_SAME_AS.get(f, f)
        others: list[ir.Expr] = []
        for i, a in enumerate(args):
            if i == LOCATION_ARG[f]:
                continue
            if kind == "try_cmpxchg" and i == 1:
                if not (isinstance(a, s.AddressOf) and isinstance(a.operand, s.Name) and scope.lookup(a.operand.ident)
                        and self.names.local_array(scope, a.operand.ident) is None):
                    raise self.bail(a.span, f"{f}'s second argument must be the address of a local variable, as in '&old'")
                out = scope.lookup(a.operand.ident)
                others.append(ir.Local(out, a.span))  # type: ignore[arg-type]
                continue
            others.append(self.expr(a, scope, ctx))
        rtype = loc.type if kind in ("xchg", "cmpxchg") else ir.WORD
        return ir.AtomicOp(f, loc, tuple(others), out, rtype, span)

    def _did_you_mean(self, name: str) -> tuple[str, ...]:
        """A note naming the builtin or procedure spelled most like `name` (all of those equally
        close), if one is close (difflib's similarity ratio at least 0.8)."""
        known = sorted({*EXPR_BUILTINS, *STMT_BUILTINS, *self.names.procs})
        close = difflib.get_close_matches(name, known, n=len(known), cutoff=0.8)
        if not close:
            return ()

        def ratio(c: str) -> float:
            return difflib.SequenceMatcher(None, c, name).ratio()

        best = [f"'{c}'" for c in close if ratio(c) == ratio(close[0])]
        return (f"did you mean {' or '.join(best)}?",)

    def arity(self, call: s.Call, table: dict[str, tuple[int, int]]) -> None:
        lo, hi = table[call.func]
        n = len(call.args)
        if not lo <= n <= hi:
            want = str(lo) if lo == hi else f"{lo} or {hi}"
            raise self.bail(call.span, f"'{call.func}' takes {want} argument(s), {n} given")

    def location_arg(self, call: s.Call, scope: Scope, ctx: Ctx) -> ir.SharedLoc:
        arg = call.args[LOCATION_ARG[call.func]]
        if call.func in LOCATION_BY_VALUE:
            if isinstance(arg, s.AddressOf):
                raise self.bail(arg.span, f"'{call.func}' takes the location itself, like the C macro: drop the '&'")
            return self.location(arg, scope, ctx, writing=call.func in ("WRITE_ONCE", "rcu_assign_pointer"))
        if not isinstance(arg, s.AddressOf):
            pp = self.expr(arg, scope, ctx)
            if not type_of(pp).indirect:
                raise self.bail(arg.span, f"'{call.func}' expects the address of a shared location, like '&x' or '&task->objcg'")
            return self.deref(pp, arg.span, arg.span)   # `xchg(pp, NULL)` with pp a `struct S **`
        return self.location(arg.operand, scope, ctx, writing=True)

    def ref_op(self, call: s.Call, scope: Scope, ctx: Ctx) -> ir.RefOp:
        ptr = self.expr(call.args[0], scope, ctx)
        t = type_of(ptr)
        if not t.pointer or t.struct_name is None or t.indirect:
            raise self.bail(call.args[0].span, f"'{call.func}' needs a pointer to an object of a refcounted struct, not a {t}")
        st = self.names.structs.get(t.struct_name)
        if st is None or not st.refcounted:
            raise self.bail(call.args[0].span, f"'{call.func}' on a non-refcounted object: struct {t.struct_name} is not declared 'refcounted'")
        self._need_objects(st.name, call.args[0].span, f"{call.func}()")
        return ir.RefOp(call.func, ptr, t.struct_name, call.span)


def type_of(e: ir.Expr) -> ir.Type:
    if isinstance(e, ir.Local):
        return e.var.type
    if isinstance(e, ir.Read):
        return e.loc.type
    if isinstance(e, (ir.Const, ir.Current, ir.Unary, ir.Binary, ir.Ternary, ir.AddressOf, ir.WordAddress, ir.ConstField, ir.AtomicOp)):
        return e.type
    return ir.WORD


def binary_type(op: str, a: ir.Type, b: ir.Type) -> ir.Type:
    if op in ("&", "|", "^", "+", "-"):
        if a.pointer and a.struct_name:
            return a
        if b.pointer and b.struct_name and op != "-":
            return b
    return ir.WORD
