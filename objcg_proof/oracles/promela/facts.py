"""What the statements and expressions of a thread do, read off the IR without exporting them:
the locals and locations a statement of an atomic block reads and writes, whether it waits or
assumes (`Facts`), whether an expression may assign a local (`writes_local`), a statement's
wait condition (`wait_of`) and the nondet() calls in it (`nondet_calls`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...lang import ir
from ...lang.diagnostics import Span


@dataclass
class Facts:
    """What a statement of an atomic block does, for the block's wait condition."""

    prog: ir.Program
    shared: bool = False
    waits: bool = False
    wait_span: Span | None = None
    assumes: list[Span] = field(default_factory=list)
    written_locals: set[int] = field(default_factory=set)
    written_locs: set[int] = field(default_factory=set)
    read_locals: set[int] = field(default_factory=set)
    read_locs: set[int] = field(default_factory=set)
    seen_procs: set[str] = field(default_factory=set)

    def cands(self, loc: ir.SharedLoc) -> set[int]:
        layout = self.prog.layout
        if loc.name:
            return set(loc.candidates)
        if loc.deref:
            return set(layout.pointer_words(loc.struct))
        objs = loc.obj.candidates if loc.obj else [o.index for o in layout.objects if o.struct == loc.struct]
        if loc.index is not None:   # an array field's element, a run-time index
            return {x for o in objs for x in layout.element_locations(o, loc.struct, loc.field)}
        return {layout.field_location(o, loc.field) for o in objs}

    def loc(self, loc: ir.SharedLoc, read: bool = False, write: bool = False) -> None:
        self.shared = True
        for sub in (loc.index, loc.pointer, loc.obj.index if loc.obj else None):
            if sub is not None:
                self.expr(sub)
        if read:
            self.read_locs |= self.cands(loc)
        if write:
            self.written_locs |= self.cands(loc)

    def expr(self, e: ir.Expr | None) -> None:
        if e is None:
            return
        if isinstance(e, ir.Local):
            self.read_locals.add(e.var.uid)
        elif isinstance(e, ir.Unary):
            self.expr(e.operand)
        elif isinstance(e, ir.Binary):
            self.expr(e.left)
            self.expr(e.right)
        elif isinstance(e, ir.Ternary):
            self.expr(e.cond)
            self.expr(e.then)
            self.expr(e.other)
        elif isinstance(e, ir.AddressOf):
            self.expr(e.obj.index)
        elif isinstance(e, ir.WordAddress):   # names a word, accesses none
            for sub in (e.loc.index, e.loc.pointer, e.loc.obj.index if e.loc.obj else None):
                self.expr(sub)
        elif isinstance(e, ir.ConstField):
            self.expr(e.pointer)
            if e.obj is not None:
                self.expr(e.obj.index)
        elif isinstance(e, ir.Read):
            self.loc(e.loc, read=True)
        elif isinstance(e, ir.AtomicOp):
            for a in e.args:
                self.expr(a)
            self.loc(e.loc, read=True, write=True)
            if e.out is not None:
                self.written_locals.add(e.out.uid)
            if e.op == "spin_lock":
                self.waits = True
                self.wait_span = self.wait_span or e.span
        elif isinstance(e, ir.RefOp):
            self.shared = True
            self.expr(e.pointer)
            layout = self.prog.layout
            rcs = {layout.refcount_location(o.index) for o in layout.objects if o.struct == e.struct}
            self.read_locs |= rcs
            if e.op != "refcount":
                self.written_locs |= rcs

    def stmt(self, st: ir.Stmt) -> None:
        if isinstance(st, (ir.Seq, ir.Atomic)):
            for s in st.body:
                self.stmt(s)
        elif isinstance(st, ir.AssignLocal):
            self.expr(st.value)
            self.written_locals.add(st.var.uid)
        elif isinstance(st, ir.AssignShared):
            self.expr(st.value)
            self.loc(st.loc, write=True)
        elif isinstance(st, ir.Eval):
            self.expr(st.expr)
        elif isinstance(st, ir.Check):
            self.expr(st.cond)
        elif isinstance(st, ir.Assume):
            self.expr(st.cond)
            self.assumes.append(st.span)
        elif isinstance(st, ir.Await):
            self.expr(st.cond)
            self.waits = True
            self.wait_span = self.wait_span or st.span
        elif isinstance(st, ir.If):
            self.expr(st.cond)
            for s in st.then + st.other:
                self.stmt(s)
        elif isinstance(st, ir.Loop):
            self.expr(st.cond)
            for s in st.body + st.step:
                self.stmt(s)
        elif isinstance(st, ir.Return):
            self.expr(st.value)
        elif isinstance(st, ir.CallProc):
            for a in st.args:
                self.expr(a)
            if st.result is not None:
                self.written_locals.add(st.result.uid)
            if st.proc not in self.seen_procs:
                self.seen_procs.add(st.proc)
                for s in self.prog.proc(st.proc).body:
                    self.stmt(s)



def writes_local(e: ir.Expr) -> bool:
    """Whether evaluating `e` may assign a local (only try_cmpxchg's `&old` does)."""
    if isinstance(e, ir.AtomicOp):
        return e.out is not None or any(writes_local(a) for a in e.args) or _loc_writes_local(e.loc)
    if isinstance(e, ir.Unary):
        return writes_local(e.operand)
    if isinstance(e, ir.Binary):
        return writes_local(e.left) or writes_local(e.right)
    if isinstance(e, ir.Ternary):
        return writes_local(e.cond) or writes_local(e.then) or writes_local(e.other)
    if isinstance(e, ir.Read):
        return _loc_writes_local(e.loc)
    if isinstance(e, ir.RefOp):
        return writes_local(e.pointer)
    if isinstance(e, ir.ConstField):
        return (e.pointer is not None and writes_local(e.pointer)) or (e.obj is not None and e.obj.index is not None and writes_local(e.obj.index))
    if isinstance(e, ir.AddressOf):
        return e.obj.index is not None and writes_local(e.obj.index)
    if isinstance(e, ir.WordAddress):
        return _loc_writes_local(e.loc)
    return False



def _loc_writes_local(loc: ir.SharedLoc) -> bool:
    subs = [loc.index, loc.pointer, loc.obj.index if loc.obj else None]
    return any(s is not None and writes_local(s) for s in subs)


def wait_of(st: ir.Stmt) -> ir.Expr | ir.SharedLoc | None:
    """The wait condition of a statement of an atomic block: an await's, a spin_lock's lock."""
    if isinstance(st, ir.Await):
        return st.cond
    if isinstance(st, ir.Eval) and isinstance(st.expr, ir.AtomicOp) and st.expr.op == "spin_lock":
        return st.expr.loc
    return None


def nondet_calls(e: ir.Expr | ir.SharedLoc | ir.Stmt | None) -> list[ir.Nondet]:
    """The nondet() calls in an expression (or in a location's index and pointer), or in the
    expressions of a statement of an atomic block."""
    if e is None:
        return []
    if isinstance(e, (ir.Seq, ir.Atomic)):
        return [n for s in e.body for n in nondet_calls(s)]
    if isinstance(e, ir.If):
        return nondet_calls(e.cond) + [n for s in e.then + e.other for n in nondet_calls(s)]
    if isinstance(e, ir.AssignLocal):
        return nondet_calls(e.value)
    if isinstance(e, ir.AssignShared):
        return nondet_calls(e.value) + nondet_calls(e.loc)
    if isinstance(e, ir.Eval):
        return nondet_calls(e.expr)
    if isinstance(e, (ir.Check, ir.Assume, ir.Await)):
        return nondet_calls(e.cond)
    if isinstance(e, ir.Nondet):
        return [e]
    if isinstance(e, ir.SharedLoc):
        return nondet_calls(e.index) + nondet_calls(e.pointer) + nondet_calls(e.obj.index if e.obj else None)
    if isinstance(e, ir.Unary):
        return nondet_calls(e.operand)
    if isinstance(e, ir.Binary):
        return nondet_calls(e.left) + nondet_calls(e.right)
    if isinstance(e, ir.Ternary):
        return nondet_calls(e.cond) + nondet_calls(e.then) + nondet_calls(e.other)
    if isinstance(e, ir.Read):
        return nondet_calls(e.loc)
    if isinstance(e, ir.AtomicOp):
        return [n for a in e.args for n in nondet_calls(a)] + nondet_calls(e.loc)
    if isinstance(e, ir.RefOp):
        return nondet_calls(e.pointer)
    if isinstance(e, ir.ConstField):
        return nondet_calls(e.pointer) + nondet_calls(e.obj.index if e.obj else None)
    if isinstance(e, ir.AddressOf):
        return nondet_calls(e.obj.index)
    if isinstance(e, ir.WordAddress):
        return nondet_calls(e.loc)
    return []

