"""Expressions of the unroll stage: ir.Expr -> terms.Term, for one thread.

Local computation becomes terms; every shared access (read, write, atomic, reference-count
operation) becomes an event of the pending step (StepRecorder in unroll_steps.py), with the
checks that its pointer or index is valid (a failed access: NOTE(failed-access) in prove/events.py);
nondet() becomes a fresh symbol.
"""

from __future__ import annotations

from ..lang import ir
from ..lang.diagnostics import Span, error
from .events import READ, WRITE
from .terms import FALSE, TRUE, App, Term
from .unroll_steps import Collector, EventSpec, StepRecorder, ThreadState


class ExprEvaluator:
    """Evaluates the expressions of one thread into terms, in its current state."""

    def __init__(self, u: Collector, s: ThreadState, steps: StepRecorder) -> None:
        self.u = u
        self.tb = u.tb
        self.layout = u.layout
        self.s = s
        self.steps = steps

    def expr(self, e: ir.Expr) -> Term:
        tb = self.tb
        if isinstance(e, ir.Const):
            return tb.word(e.value)
        if isinstance(e, ir.Local):
            return self.s.env.get(e.var.uid, tb.word(0))
        if isinstance(e, ir.Current):
            if self.s.thread.current is None:
                raise error(e.span, f"'current' is used in thread {self.s.thread.name}, which names no task: declare it as 'thread {self.s.thread.name} (current = &task)'")
            return tb.word(self.layout.objects[self.s.thread.current].address)
        if isinstance(e, ir.Unary):
            return tb.unary(e.op, self.expr(e.operand))
        if isinstance(e, ir.Binary):
            if e.op in ("&&", "||"):
                a = tb.truth(self.expr(e.left))
                b = tb.truth(self.steps.narrowed(a if e.op == "&&" else tb.not_(a), lambda: self.expr(e.right)))
                return tb.and_(a, b) if e.op == "&&" else tb.or_(a, b)
            left, right = self.expr(e.left), self.expr(e.right)
            if e.op in ("/", "%"):
                self.steps.check("uaf", "", tb.cmp("!=", right, tb.word(0)), e.span, "division by zero")
            return tb.binary(e.op, left, right)
        if isinstance(e, ir.Ternary):
            c = tb.truth(self.expr(e.cond))
            a = self.steps.narrowed(c, lambda: self.expr(e.then))
            b = self.steps.narrowed(tb.not_(c), lambda: self.expr(e.other))
            return tb.ite(c, a, b)
        if isinstance(e, ir.AddressOf):
            addrs = [tb.word(self.layout.objects[o].address) for o in e.obj.candidates]
            return self.select(e.obj.index, addrs, e.span, "object array index out of bounds")
        if isinstance(e, ir.WordAddress):
            loc, _, _ = self.location(e.loc)   # naming the word may fail; it is not accessed
            base = tb.word(len(self.layout.objects) + 1)
            return tb.binary("<<", tb.binary("+", loc, base), tb.word(ir.TAG_BITS))
        if isinstance(e, ir.ConstField):
            conds, valid = self.objects_of(e.obj, e.pointer, e.struct, e.span, e.field)
            objs = self._candidate_objects(e.obj, e.struct)
            vals = [tb.word(dict(self.layout.objects[o].const_values)[e.field]) for o in objs]
            return self.choose(conds, valid, vals)
        if isinstance(e, ir.Read):
            loc, cands, valid = self.location(e.loc)
            read = self.steps.event(READ, loc, cands, None, valid, e.mode, "read")
            assert read is not None
            return read
        if isinstance(e, ir.AtomicOp):
            return self.atomic_op(e)
        if isinstance(e, ir.RefOp):
            return self.ref_op(e)
        if isinstance(e, ir.IndexFault):
            self.steps.check("uaf", "", FALSE, e.span, e.message, access=True)
            return tb.word(0)
        if isinstance(e, ir.Nondet):
            sym = self.u.fresh("choice")
            self.u.nondets.append((sym.name, e.limit))
            if self.s.pending is not None:
                self.s.pending.nondets.append((sym, e.limit))
            return sym
        raise AssertionError(f"unhandled expression {type(e).__name__}")

    def select(self, index: ir.Expr | Term | None, values: list[Term], span: Span, msg: str) -> Term:
        """values[index], with a uaf-kind check that the index is in bounds (index evaluated once)."""
        if index is None:
            return values[0]
        tb = self.tb
        i = index if isinstance(index, Term) else self.expr(index)
        self.steps.check("uaf", "", tb.cmp("<", i, tb.word(len(values))), span, msg, access=True)
        return self.by_index(i, values)

    def by_index(self, i: Term, values: list[Term]) -> Term:
        """values[i] for an index already checked to be in bounds."""
        out = values[-1]
        for k in range(len(values) - 2, -1, -1):
            out = self.tb.ite(self.tb.cmp("==", i, self.tb.word(k)), values[k], out)
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
            self.steps.check("uaf", "", valid, span, "object array index out of bounds", access=True)
            return conds, valid
        assert pointer is not None
        p = self.expr(pointer)
        conds = self.known([tb.cmp("==", p, tb.word(o.address)) for o in self.layout.objects if o.struct == struct])
        valid = tb.or_(*conds)
        self.steps.check("uaf", "", valid, span, f"NULL or invalid pointer dereferenced ('->{what}' of a struct {struct} *)",
                   access=True)
        return conds, valid

    def known(self, conds: list[Term]) -> list[Term]:
        """Drop the candidates the path guard already rules out (p != &root inside a loop
        `for (; p != &root; ...)`), so walks up a hierarchy unroll exactly."""
        guard = self.s.cg
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
        if loc.deref:
            return self._deref(loc)
        objs = self._candidate_objects(loc.obj, loc.struct)
        conds, valid = self.objects_of(loc.obj, loc.pointer, loc.struct, loc.span, loc.field)
        if loc.index is not None:
            return self._element(loc, objs, conds, valid)
        ids = [self.layout.field_location(o, loc.field) for o, c in zip(objs, conds) if c is not FALSE]
        ids = ids or [self.layout.field_location(objs[-1], loc.field)]
        term = self.choose(conds, valid, [tb.word(self.layout.field_location(o, loc.field)) for o in objs])
        return term, tuple(ids), valid

    def _deref(self, loc: ir.SharedLoc) -> tuple[Term, tuple[int, ...], Term]:
        """`*pp`: the word whose address pp holds; any other value fails (NOTE(word-addresses))."""
        tb = self.tb
        assert loc.pointer is not None
        p = self.expr(loc.pointer)
        words = list(self.layout.pointer_words(loc.struct))
        conds = self.known([tb.cmp("==", p, tb.word(self.layout.word_address(w))) for w in words])
        valid = tb.or_(*conds)
        self.steps.check("uaf", "", valid, loc.span,
                         f"NULL or invalid pointer dereferenced ('*' of a struct {loc.struct} **)", access=True)
        ids = [w for w, c in zip(words, conds) if c is not FALSE] or words[-1:]
        return self.choose(conds, valid, [tb.word(w) for w in words]), tuple(ids), valid

    def _element(self, loc: ir.SharedLoc, objs: list[int], conds: list[Term],
                 valid: Term) -> tuple[Term, tuple[int, ...], Term]:
        """`x.f[i]` or `p->f[i]` with a run-time index: the object first (its pointer checked),
        then the index, checked against the array field's size (docs/semantics.md)."""
        tb = self.tb
        assert loc.index is not None
        i = self.expr(loc.index)
        per_object = [self.layout.element_locations(o, loc.struct, loc.field) for o in objs]
        size = len(per_object[0])
        in_bounds = tb.cmp("<", i, tb.word(size))
        self.steps.check("uaf", "", in_bounds, loc.span, f"index out of bounds for '{loc.field}[{size}]'", access=True)
        ids = [x for ids_, c in zip(per_object, conds) if c is not FALSE for x in ids_] or list(per_object[-1])
        term = self.choose(conds, valid, [self.by_index(i, [tb.word(x) for x in ids_]) for ids_ in per_object])
        return term, tuple(ids), tb.and_(valid, in_bounds)

    def write(self, loc: ir.SharedLoc, value: Term, mode: str) -> None:
        term, cands, valid = self.location(loc)
        self.steps.event(WRITE, term, cands, self.tb.to_word(value), valid, mode, "write")

    def atomic_op(self, e: ir.AtomicOp) -> Term:
        tb = self.tb
        op = e.kind
        args = [tb.to_word(self.expr(a)) for a in e.args]
        loc, cands, valid = self.location(e.loc)
        mode = ir.ATOMIC_ORDER[e.op]
        one = tb.word(1)
        if op == "spin_unlock":
            self.steps.event(WRITE, loc, cands, tb.word(0), valid, mode, op)
            return tb.word(0)
        # the written value depends on the value read: build it from a placeholder symbol
        read = self.u.fresh("v")
        succeeds: Term = TRUE   # a conditional RMW that fails writes nothing under the LKMM
        if op == "xchg":
            write, result = args[0], read
        elif op == "cmpxchg":
            succeeds = tb.cmp("==", read, args[0])
            write, result = tb.ite(succeeds, args[1], read), read
        elif op == "try_cmpxchg":
            ok = succeeds = tb.cmp("==", read, args[0])
            write, result = tb.ite(ok, args[1], read), tb.to_word(ok)
        elif op in ("set_bit", "test_and_set_bit"):
            bit = tb.binary("<<", one, args[0])
            write, result = tb.binary("|", read, bit), tb.to_word(tb.cmp("!=", tb.binary("&", read, bit), tb.word(0)))
        elif op in ("clear_bit", "test_and_clear_bit"):
            bit = tb.binary("<<", one, args[0])
            write = tb.binary("&", read, tb.unary("~", bit))
            result = tb.to_word(tb.cmp("!=", tb.binary("&", read, bit), tb.word(0)))
        elif op in ir.ATOMIC_ARITH:
            arith = ir.ATOMIC_ARITH[op]
            amount = one if arith.by_one else args[0]
            write = (tb.binary("&", read, tb.unary("~", amount)) if arith.operator == "&~"
                     else tb.binary(arith.operator, read, amount))
            result = {"old": read, "new": write, "none": tb.word(0)}[arith.returns]
        elif op == "atomic_dec_and_test":
            write = tb.binary("-", read, one)
            result = tb.to_word(tb.cmp("==", write, tb.word(0)))
        elif op == "atomic_inc_not_zero":
            nz = succeeds = tb.cmp("!=", read, tb.word(0))
            write, result = tb.ite(nz, tb.binary("+", read, one), read), tb.to_word(nz)
        elif op == "spin_lock":
            write, result = one, tb.word(0)
            assert self.s.pending is not None
            self.steps.wait(tb.cmp("==", read, tb.word(0)))
        else:
            raise AssertionError(f"unhandled atomic {op}")
        self.steps.rmw(loc, cands, read, write, valid, mode, e.op, succeeds)
        if op == "try_cmpxchg" and e.out is not None:
            old = self.s.env.get(e.out.uid, tb.word(0))
            # only when the try_cmpxchg is evaluated (not short-circuited away) may it change `old`
            evaluated = tb.and_(self.s.cg, valid)
            self.steps.set_local(e.out, tb.ite(evaluated, tb.ite(tb.cmp("==", read, args[0]), old, read), old))
        return result

    def ref_op(self, e: ir.RefOp) -> Term:
        tb = self.tb
        p = self.expr(e.pointer)
        objs = [o for o in self.layout.objects if o.struct == e.struct]
        conds = [tb.cmp("==", p, tb.word(o.address)) for o in objs]
        valid = tb.or_(*conds)
        # from here on the guard includes `valid` (NOTE(failed-access))
        self.steps.check("uaf", "", valid, e.span, f"{e.op}() on a NULL or invalid pointer", access=True)
        locs = [self.layout.refcount_location(o.index) for o in objs]
        loc = self.choose(conds, valid, [tb.word(i) for i in locs])
        kill_bit = tb.word(self.layout.kill_bit)
        read = self.u.fresh("v")
        count = tb.binary("&", read, tb.unary("~", kill_bit))
        alive = tb.cmp("!=", count, tb.word(0))
        one = tb.word(1)
        result: Term = tb.word(0)
        succeeds: Term = TRUE
        if e.op == "refcount":
            self.s.pending.events.append(EventSpec(READ, loc, tuple(locs), read, None, tb.and_(self.s.cg, valid), "once", "refcount", TRUE, self.s.ctrl))  # type: ignore[union-attr]
            return count
        if e.op == "get":
            self.steps.check("uaf", "", alive, e.span, "get() on a released object (its count was already 0)")
            write = tb.binary("+", read, one)
        elif e.op == "put":
            self.steps.check("uaf", "", alive, e.span, "put() on a released object (its count was already 0)")
            write = tb.binary("-", read, one)
        elif e.op == "kill":
            self.steps.check("uaf", "", tb.cmp("==", tb.binary("&", read, kill_bit), tb.word(0)), e.span,
                             "kill() on an object already killed")
            self.steps.check("uaf", "", alive, e.span, "kill() on a released object (its count was already 0)")
            write = tb.binary("-", tb.binary("|", read, kill_bit), one)
        elif e.op == "tryget":
            write, result, succeeds = tb.ite(alive, tb.binary("+", read, one), read), tb.to_word(alive), alive
        elif e.op == "tryget_live":
            live = tb.and_(alive, tb.cmp("==", tb.binary("&", read, kill_bit), tb.word(0)))
            write, result, succeeds = tb.ite(live, tb.binary("+", read, one), read), tb.to_word(live), live
        else:
            raise AssertionError(e.op)
        self.steps.rmw(loc, tuple(locs), read, write, valid, "ref", e.op, succeeds)
        return result
