"""Local arrays in the resolve stage: `word seen[3] = {0, 0, 0};` inside a procedure or thread.

Input: a declarator with a size, or an index of a local array, from the statement and
expression checkers. Output: plain ir on ordinary local variables, so no engine knows about
local arrays: one `LocalVar` per element (named `seen[k]`); a constant index is that element;
a run-time index is a chain of tests on the index (`i == 0 ? seen[0] : i == 1 ? ...`), for a
write a chain of `if`s, ending in `ir.IndexFault` (a failed access) when no element matches.
The index is evaluated once per test, so it must not access shared memory or choose
(docs/semantics.md, "Array fields, per-element initialisers and local arrays").
"""

from __future__ import annotations

from typing import Callable

from . import ir
from . import syntax as s
from .constants import Constants
from .diagnostics import Span
from .names import Names, Scope

_Resolve = Callable[[s.Expr], ir.Expr]


class LocalArrays:
    """Declares local arrays and turns their indexing into plain local ir."""

    def __init__(self, names: Names, constants: Constants) -> None:
        self.names = names
        self.constants = constants

    def declare(self, scope: Scope, dcl: s.Declarator, type_: ir.Type, resolve: _Resolve) -> list[ir.Stmt]:
        """The elements of `dcl`, each assigned its initial value (0 unless given)."""
        names = self.names
        assert dcl.size is not None
        count = self.constants.const_or(dcl.size, 1, exact=True)
        if not 1 <= count <= 64:
            names.err(dcl.size.span, f"a local array needs 1 to 64 elements, not {count}")
            count = 1
        marker = names.new_local(scope, dcl.name, type_, dcl.span)
        elements = tuple(names.temp(ir.element_name(dcl.name, k), type_) for k in range(count))
        names.local_arrays[marker.uid] = elements
        values: list[ir.Expr] = [ir.Const(0, type_, dcl.span)] * count
        if isinstance(dcl.init, tuple):
            if len(dcl.init) > count:
                names.err(dcl.init[count].span, f"too many initializers for '{dcl.name}[{count}]'")
            for k, e in enumerate(dcl.init[:count]):
                values[k] = resolve(e)
        elif dcl.init is not None:
            value = resolve(dcl.init)
            if not _local_only(value):
                raise names.bail(dcl.init.span, f"one initial value for every element of '{dcl.name}' must not access "
                                                "shared memory or choose: read it into a local first")
            values = [value] * count
        return [ir.AssignLocal(var, v, dcl.span) for var, v in zip(elements, values)]

    def _index(self, elements: tuple[ir.LocalVar, ...], name: str, e: s.Index, resolve: _Resolve) -> ir.Expr:
        idx = resolve(e.index)
        if isinstance(idx, ir.Const):
            if not 0 <= idx.value < len(elements):
                raise self.names.bail(e.index.span, f"index {idx.value} is out of bounds for '{name}[{len(elements)}]'")
        elif not _local_only(idx):
            raise self.names.bail(e.index.span, f"the index of local array '{name}' must not access shared memory or "
                                                "choose: read it into a local first")
        return idx

    def read(self, elements: tuple[ir.LocalVar, ...], name: str, e: s.Index, resolve: _Resolve) -> ir.Expr:
        """`name[i]` as a value."""
        idx = self._index(elements, name, e, resolve)
        t = elements[0].type
        if isinstance(idx, ir.Const):
            return ir.Local(elements[idx.value], e.span)
        out: ir.Expr = ir.IndexFault(name, len(elements), e.span)
        for k in range(len(elements) - 1, -1, -1):
            out = ir.Ternary(_is(idx, k, e), ir.Local(elements[k], e.span), out, t, e.span)
        return out

    def write(self, elements: tuple[ir.LocalVar, ...], name: str, e: s.Index, value: ir.Expr,
              resolve: _Resolve, span: Span) -> ir.Stmt:
        """`name[i] = value`: the element `i` names is assigned; out of bounds, the access fails."""
        idx = self._index(elements, name, e, resolve)
        if isinstance(idx, ir.Const):
            return ir.AssignLocal(elements[idx.value], value, span)
        out: ir.Stmt = ir.Eval(ir.IndexFault(name, len(elements), e.span), span)
        for k in range(len(elements) - 1, -1, -1):
            out = ir.If(_is(idx, k, e), (ir.AssignLocal(elements[k], value, span),), (out,), span)
        return out


def _is(idx: ir.Expr, k: int, e: s.Index) -> ir.Expr:
    return ir.Binary("==", idx, ir.Const(k, ir.WORD, e.span), ir.WORD, e.span)


def _local_only(e: ir.Expr) -> bool:
    """Whether evaluating `e` reads no shared memory and makes no choice (so evaluating it
    again gives the same value and does nothing else)."""
    todo = [e]
    while todo:
        x = todo.pop()
        if isinstance(x, (ir.Read, ir.AtomicOp, ir.RefOp, ir.Nondet)):
            return False
        if isinstance(x, ir.Unary):
            todo.append(x.operand)
        elif isinstance(x, ir.Binary):
            todo += [x.left, x.right]
        elif isinstance(x, ir.Ternary):
            todo += [x.cond, x.then, x.other]
        elif isinstance(x, ir.ConstField):
            todo += [p for p in (x.pointer, x.obj.index if x.obj else None) if p is not None]
        elif isinstance(x, ir.AddressOf) and x.obj.index is not None:
            todo.append(x.obj.index)
        elif isinstance(x, ir.WordAddress):
            todo += [p for p in (x.loc.index, x.loc.pointer, x.loc.obj.index if x.loc.obj else None) if p is not None]
    return True

