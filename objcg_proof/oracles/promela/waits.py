"""The wait condition of a step (`await`, `spin_lock`, a step's `assume`) as one Promela
expression on the state before the step, which is the guard of the step's node: the step's
own earlier writes (an xchg in an await, say) are substituted in, and the condition that the
evaluation reaches a failed access first (its poison) makes the guard true as well."""

from __future__ import annotations

from typing import Callable

from ...lang import ir
from ...lang.diagnostics import Span
from .formulas import atomic_builtin, conjunction, disjunction, refcount_builtin, unsupported
from .unit import Unit


class WaitConditions:
    """Wait conditions evaluated for one unit (`pure`): the unit's locals, its choices made
    before the step, and the values its own writes left so far (`overlay`)."""

    def __init__(self, unit: Unit) -> None:
        self.unit = unit
        self.vars = unit.vars
        self.x = unit.x
        self.ctx = unit.ctx
        self.overlay: dict[str, str] = {}   # pure(): values the step's own writes left

    # ---- wait conditions: one expression on the state before the step
    def pure(self, e: ir.Expr, span: Span) -> tuple[str, str]:
        """(value, poison): the value `e` would have if the step ran now, as one expression on
        the globals and locals (the step's own earlier writes are in `self.overlay`, its choices
        were made before it: `self.vars.prechosen`), and the condition that the evaluation reaches
        an invalid access (whose value the semantics leaves open)."""
        m, x = self.x.mask, self.x
        if isinstance(e, ir.Local):
            name = self.vars.local(e.var, self.ctx)
            return self.overlay.get(name, name), ""
        if isinstance(e, (ir.Const, ir.Current)):
            return self.unit.ev(e), ""
        if isinstance(e, ir.IndexFault):
            return "0", "1"   # always a failed access
        if isinstance(e, ir.Nondet):
            chosen = self.vars.prechosen.get(id(e))
            if chosen is None:
                raise AssertionError("nondet() in a wait condition was not chosen before the step")
            return chosen, ""
        if isinstance(e, ir.Unary):
            v, p = self.pure(e.operand, span)
            return {"!": f"({v} == 0)", "~": f"(~{v} & {m})", "-": f"(-{v} & {m})", "+": v}[e.op], p
        if isinstance(e, ir.Binary):
            a, pa = self.pure(e.left, span)
            if e.op in ("&&", "||"):
                # the right operand's writes happen only if it is evaluated
                saved = dict(self.overlay)
                b, pb = self.pure(e.right, span)
                taken = f"({a} != 0)" if e.op == "&&" else f"({a} == 0)"
                self.merge(taken, saved)
                value = f"(({a} != 0) {e.op} ({b} != 0))"
                return value, disjunction(pa, f"({taken} && {pb})" if pb else "")
            b, pb = self.pure(e.right, span)
            saved_lines = len(self.unit.lines)
            value = self.unit.binary(e.op, a, b)
            del self.unit.lines[saved_lines:]   # the division's uaf check is made in the step itself
            return value, disjunction(pa, pb)
        if isinstance(e, ir.Ternary):
            c, pc = self.pure(e.cond, span)
            a, b, poison = self.pure_branches(c, lambda: self.pure(e.then, span), lambda: self.pure(e.other, span))
            return f"(({c} != 0) -> {a} : {b})", disjunction(pc, poison)
        if isinstance(e, (ir.AddressOf, ir.ConstField)):
            obj = e.obj
            pointer = e.pointer if isinstance(e, ir.ConstField) else None
            struct = e.struct if isinstance(e, ir.ConstField) else ""
            objs = x.layout.objects
            cands = self.unit.objects(obj, struct)
            if isinstance(e, ir.AddressOf):
                values = [objs[i].address for i in cands]
            else:
                values = [dict(objs[i].const_values)[e.field] for i in cands]
            conds, valid, poison = self.pure_conds(obj, pointer, struct, span)
            return self.chain(conds, [str(v) for v in values]), disjunction(poison, f"!{valid}" if valid else "")
        if isinstance(e, ir.Read):
            conds, lvs, valid, poison = self.pure_location(e.loc, span)
            return self.chain(conds, [self.overlay.get(lv, lv) for lv in lvs]), disjunction(poison, f"!{valid}" if valid else "")
        if isinstance(e, ir.WordAddress):   # the word is named, not read
            conds, lvs, valid, poison = self.pure_location(e.loc, span)
            addresses = [str(self.unit.word_address(lv)) for lv in lvs]
            return self.chain(conds, addresses), disjunction(poison, f"!{valid}" if valid else "")
        if isinstance(e, ir.AtomicOp):
            args = [self.pure(a, span) for a in e.args]
            conds, lvs, valid, poison = self.pure_location(e.loc, span)
            r = self.chain(conds, [self.overlay.get(lv, lv) for lv in lvs])
            new, result = atomic_builtin(e.kind, r, [v for v, _ in args], x.width, m)
            self.write(conds, lvs, new)
            if e.kind == "try_cmpxchg" and e.out is not None:
                out = self.vars.local(e.out, self.ctx)
                self.overlay[out] = f"(({r} == {args[0][0]}) -> {self.overlay.get(out, out)} : {r})"
            return result, disjunction(*[p for _, p in args], poison, f"!{valid}" if valid else "")
        if isinstance(e, ir.RefOp):
            p, pp = self.pure(e.pointer, span)
            owners = [o for o in x.layout.objects if o.struct == e.struct]
            rconds: list[str | None] = [f"({p} == {o.address})" for o in owners]
            lvs = [x.loc_names[x.layout.refcount_location(o.index)] for o in owners]
            r = self.chain(rconds, [self.overlay.get(lv, lv) for lv in lvs])
            written, result = refcount_builtin(e.op, r, x.kill, m)
            if written is not None:
                self.write(rconds, lvs, written)
            return result, disjunction(pp, f"!{disjunction(*[c for c in rconds if c]) or '0'}")
        raise AssertionError(f"unhandled expression {type(e).__name__}")

    def pure_branches(self, c: str, then: Callable[[], tuple[str, str]],
                      other: Callable[[], tuple[str, str]]) -> tuple[str, str, str]:
        """Two branches on `c` (each gives a value and a poison), evaluated as `pure` does: the
        writes each makes count on its side of `c`. Returns both values and the poison."""
        before = dict(self.overlay)
        a, pa = then()
        after_then, self.overlay = self.overlay, dict(before)
        b, pb = other()
        after_other = self.overlay
        self.overlay = {k: (f"(({c} != 0) -> {after_then.get(k, before.get(k, k))} : {after_other.get(k, before.get(k, k))})")
                        for k in set(after_then) | set(after_other)}
        return a, b, (f"(({c} != 0) -> {pa or 0} : {pb or 0})" if pa or pb else "")

    def pure_stmts(self, stmts: tuple[ir.Stmt, ...]) -> str:
        """The poison of statements of an atomic block that come before a wait: the condition
        that one of them fails an access (then the step runs whatever the wait says: a failed
        access ends the step, docs/semantics.md "Failed accesses"). Their writes go to the
        overlay, as in `pure`."""
        poison = ""
        for st in stmts:
            if isinstance(st, (ir.Seq, ir.Atomic)):
                p = self.pure_stmts(st.body)
            elif isinstance(st, ir.AssignLocal):
                v, p = self.pure(st.value, st.span)
                self.overlay[self.vars.local(st.var, self.ctx)] = v
            elif isinstance(st, ir.AssignShared):
                v, p = self.pure(st.value, st.span)
                conds, lvs, valid, pl = self.pure_location(st.loc, st.span)
                self.write(conds, lvs, v)
                p = disjunction(p, pl, f"!{valid}" if valid else "")
            elif isinstance(st, ir.Eval):
                p = self.pure(st.expr, st.span)[1]
            elif isinstance(st, (ir.Check, ir.Assume)):
                p = self.pure(st.cond, st.span)[1]
            elif isinstance(st, ir.If):
                c, pc = self.pure(st.cond, st.span)
                _, _, pb = self.pure_branches(c, lambda: ("", self.pure_stmts(st.then)), lambda: ("", self.pure_stmts(st.other)))
                p = disjunction(pc, pb)
            else:
                raise unsupported(st.span, "a procedure call or return before a wait in its atomic block")
            poison = disjunction(poison, p)
        return poison

    def write(self, conds: list[str | None], lvs: list[str], value: str) -> None:
        """A write of the step (in a wait condition): later reads of the condition see it."""
        for c, lv in zip(conds, lvs):
            if c == "0":
                continue
            self.overlay[lv] = value if c is None else f"({c} -> {value} : {self.overlay.get(lv, lv)})"

    def merge(self, taken: str, saved: dict[str, str]) -> None:
        """Writes made under condition `taken` only."""
        self.overlay = {k: f"({taken} -> {v} : {saved.get(k, k)})" if saved.get(k) != v else v
                        for k, v in self.overlay.items()}

    def chain(self, conds: list[str | None], values: list[str]) -> str:
        pairs = [(c, v) for c, v in zip(conds, values) if c != "0"]
        for c, v in pairs:
            if c is None:
                return v
        out = "0"
        for c, v in reversed(pairs):
            out = f"({c} -> {v} : {out})"
        return out

    def pure_conds(self, obj: ir.ObjectRef | None, pointer: ir.Expr | None, struct: str,
                   span: Span) -> tuple[list[str | None], str | None, str]:
        if obj is not None:
            if obj.index is None:
                return [None], None, ""
            i, p = self.pure(obj.index, span)
            n = len(obj.candidates)
            return [f"({i} == {k})" for k in range(n)], f"({i} < {n})", p
        assert pointer is not None
        v, p = self.pure(pointer, span)
        conds = [f"({v} == {o.address})" for o in self.x.layout.objects if o.struct == struct]
        return list(conds), disjunction(*conds) or "0", p

    def pure_location(self, loc: ir.SharedLoc, span: Span) -> tuple[list[str | None], list[str], str | None, str]:
        names = self.x.loc_names
        if loc.name:
            ids = list(loc.candidates)
            if loc.index is None:
                return [None], [names[ids[0]]], None, ""
            i, p = self.pure(loc.index, span)
            return [f"({i} == {k})" for k in range(len(ids))], [names[x] for x in ids], f"({i} < {len(ids)})", p
        if loc.deref:   # `*pp` (NOTE(word-addresses) in lang/ir.py)
            assert loc.pointer is not None
            v, p = self.pure(loc.pointer, span)
            words = self.x.layout.pointer_words(loc.struct)
            conds = [f"({v} == {self.x.layout.word_address(w)})" for w in words]
            return list(conds), [names[w] for w in words], disjunction(*conds) or "0", p
        objs = self.unit.objects(loc.obj, loc.struct)
        conds, valid, p = self.pure_conds(loc.obj, loc.pointer, loc.struct, span)
        if loc.index is not None:   # an array field's element, a run-time index: after the object
            i, pi = self.pure(loc.index, span)
            per_object = [self.x.layout.element_locations(o, loc.struct, loc.field) for o in objs]
            pairs = [(conjunction(c, f"({i} == {k})"), names[x]) for c, ids in zip(conds, per_object) for k, x in enumerate(ids)]
            in_bounds = f"({i} < {len(per_object[0])})"
            # the index is evaluated (and may fail) only where the object is valid
            poison = disjunction(p, f"({valid} && {pi})" if valid and pi else pi)
            return [c for c, _ in pairs], [lv for _, lv in pairs], conjunction(valid, in_bounds), poison
        return conds, [names[self.x.layout.field_location(o, loc.field)] for o in objs], valid, p

    def wait_guard(self, e: ir.Expr, span: Span) -> str:
        self.overlay = {}
        return disjunction(*self.wait_parts(e, span))

    def lock_guard(self, loc: ir.SharedLoc, span: Span) -> str:
        self.overlay = {}
        return disjunction(*self.lock_parts(loc, span))

    def wait_parts(self, e: ir.Expr, span: Span) -> tuple[str, str]:
        """(poison, value) of a wait condition: the step can run when either holds."""
        value, poison = self.pure(e, span)
        return poison, f"({value} != 0)"

    def lock_parts(self, loc: ir.SharedLoc, span: Span) -> tuple[str, str]:
        conds, lvs, valid, poison = self.pure_location(loc, span)
        lock = self.chain(conds, lvs)
        self.write(conds, lvs, "1")
        return disjunction(poison, f"!{valid}" if valid else ""), f"({lock} == 0)"

