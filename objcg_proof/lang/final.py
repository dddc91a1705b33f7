"""The `final` block in the resolve stage: syntax.FinalDecl -> ir.Final.

A `final` block holds end-of-run checks (docs/semantics.md, "End-of-run checks"): `assert`s on
the memory at the end of every execution in which every thread finished, and `holds(p)`, the
references owners keep at the end, which `leak` does not count. It is not a thread: it has no
step, no locals, no `current`, and each expression must be pure and total, so that every
engine gives it one value from the final memory alone: reads of locations named statically,
`const` fields of named objects, `&obj`, `refcount(&obj)`, constants, and every operator but
`/` and `%` (no division by zero to report). Anything else is a located error here.

`static_location` is the one rule the engines use to find the location such a read names.
"""

from __future__ import annotations

from . import ir
from . import syntax as s
from .exprs import ExprChecker, type_of
from .names import STMT_BUILTINS, Bail, Ctx, Names, Scope

FINAL_CTX = Ctx("final", None)


def static_location(layout: ir.Layout, loc: ir.SharedLoc) -> int:
    """The location a final expression's read names (`FinalChecker` only lets through reads
    whose location is known without evaluating anything)."""
    assert loc.index is None and loc.pointer is None, "a final read names its location statically"
    if loc.name:
        return loc.candidates[0]
    assert loc.obj is not None and loc.obj.index is None
    return layout.field_location(loc.obj.candidates[0], loc.field)


def static_object(ref: ir.ObjectRef) -> int:
    """The object a final expression's `&obj` or `obj.f` names."""
    assert ref.index is None, "a final expression names its objects statically"
    return ref.candidates[0]


class FinalChecker:
    """Resolves the model's `final` block (at most one) into `ir.Final`."""

    def __init__(self, names: Names, exprs: ExprChecker) -> None:
        self.names = names
        self.exprs = exprs
        self.bail = names.bail

    def resolve(self, decls: tuple[s.Decl, ...], refcounted: bool) -> ir.Final | None:
        blocks = [d for d in decls if isinstance(d, s.FinalDecl)]
        for extra in blocks[1:]:
            self.names.err(extra.span, "a model has at most one 'final' block",
                           f"the first one is at {blocks[0].span}; put every end-of-run check in it")
        if not blocks:
            return None
        checks: list[ir.Check] = []
        holds: list[ir.Holds] = []
        for st in _statements(blocks[0].body):
            try:
                self._statement(st, refcounted, checks, holds)
            except Bail:
                pass
        return ir.Final(tuple(checks), tuple(holds), blocks[0].span)

    def _statement(self, st: s.Stmt, refcounted: bool, checks: list[ir.Check], holds: list[ir.Holds]) -> None:
        call = st.expr if isinstance(st, s.ExprStmt) else None
        if not isinstance(call, s.Call) or call.func not in ("assert", "holds"):
            raise self.bail(st.span, "a 'final' block holds only 'assert(c)', 'assert(c, \"label\")' and 'holds(p)': "
                                     "it is checked once at the end of the run and has no steps or locals",
                            "write what a thread does in the thread")
        self.exprs.arity(call, STMT_BUILTINS)
        if call.func == "assert":
            label = ""
            if len(call.args) == 2:
                if not isinstance(call.args[1], s.Str):
                    raise self.bail(call.args[1].span, "the second argument of 'assert' must be a string label")
                label = call.args[1].text
            checks.append(ir.Check("assert", label, self._expr(call.args[0]), call.span))
            return
        if not refcounted:
            raise self.bail(call.span, "'holds' in a model without an object of a refcounted struct: there is no "
                                       "leak property for it to exempt a reference from")
        p = self._expr(call.args[0])
        t = type_of(p)
        if t.pointer and t.struct_name is not None and not self.names.structs[t.struct_name].refcounted:
            raise self.bail(call.args[0].span, f"'holds' of a pointer to struct {t.struct_name}, which is not refcounted: "
                                               "it can hold no reference")
        holds.append(ir.Holds(p, call.span))

    def _expr(self, e: s.Expr) -> ir.Expr:
        out = self.exprs.expr(e, Scope(), FINAL_CTX)
        self._pure(out)
        return out

    def _pure(self, root: ir.Expr) -> None:
        """Bail at the first part of `root` that a final expression may not have."""
        todo = [root]
        while todo:
            e = todo.pop()
            if isinstance(e, ir.Const):
                continue
            if isinstance(e, ir.Unary):
                todo.append(e.operand)
            elif isinstance(e, ir.Binary):
                if e.op in ("/", "%"):
                    raise self.bail(e.span, f"'{e.op}' in a 'final' block: a division by zero there would have no "
                                            "thread to stop; compute it with shifts and masks, or in a thread")
                todo += [e.left, e.right]
            elif isinstance(e, ir.Ternary):
                todo += [e.cond, e.then, e.other]
            elif isinstance(e, ir.AddressOf):
                self._static_ref(e.obj)
            elif isinstance(e, ir.ConstField):
                if e.obj is None:
                    raise self.bail(e.span, "'->' in a 'final' block: name the object, as in 'obj.field' (a pointer "
                                            "could be invalid at the end, and a final check cannot fail an access)")
                self._static_ref(e.obj)
            elif isinstance(e, ir.Read):
                self._static_loc(e.loc)
            elif isinstance(e, ir.RefOp):
                if e.op != "refcount" or not isinstance(e.pointer, ir.AddressOf):
                    raise self.bail(e.span, f"'{e.op}' in a 'final' block: only 'refcount(&obj)' of a named object "
                                            "is allowed there (a final check changes nothing)")
                self._static_ref(e.pointer.obj)
            elif isinstance(e, ir.AtomicOp):
                raise self.bail(e.span, f"'{e.op}' in a 'final' block: a final check reads the memory at the end and "
                                        "changes nothing")
            elif isinstance(e, ir.Nondet):
                raise self.bail(e.span, "'nondet' in a 'final' block: a final check is evaluated once, with no choice")
            elif isinstance(e, (ir.Current, ir.Local)):
                raise self.bail(e.span, "a 'final' block runs in no thread: it has no 'current' and no locals")
            else:
                raise AssertionError(f"unhandled expression {type(e).__name__}")

    def _static_ref(self, ref: ir.ObjectRef) -> None:
        if ref.index is not None:
            raise self.bail(ref.span, "a variable index in a 'final' block: use a constant index (a final check cannot "
                                      "fail an access)")

    def _static_loc(self, loc: ir.SharedLoc) -> None:
        if loc.pointer is not None:
            raise self.bail(loc.span, "'->' in a 'final' block: name the object, as in 'obj.field' (a pointer could be "
                                      "invalid at the end, and a final check cannot fail an access)")
        if loc.index is not None:
            raise self.bail(loc.span, "a variable index in a 'final' block: use a constant index (a final check "
                                      "cannot fail an access)")
        if loc.obj is not None:
            self._static_ref(loc.obj)


def _statements(block: s.Block) -> list[s.Stmt]:
    """The block's statements, nested blocks opened up and empty statements dropped."""
    out: list[s.Stmt] = []
    todo: list[s.Stmt] = list(reversed(block.body))
    while todo:
        st = todo.pop()
        if isinstance(st, s.Block):
            todo += reversed(st.body)
        elif not isinstance(st, s.Empty):
            out.append(st)
    return out


def final_properties(final: ir.Final | None, declared: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """The properties the threads declare, then those of the final checks not already among them."""
    out = list(declared)
    for c in final.checks if final is not None else ():
        key = (c.kind, ir.property_name(c.kind, c.label, c.span))
        if key not in out:
            out.append(key)
    return tuple(out)
