"""The atomicity rule of the resolve stage: which statements are one atomic step.

Outside `atomic { }` each statement is one step and may touch shared state at most once: a
read, a write, an atomic operation or a refcount operation (ghost variables do not count).
Inside an atomic block the whole block is one step; an `await` there must come first, so the
step waits before it does anything. `AtomicityRule` checks both and records its diagnostics in
the resolver's `Names`; `shared_accesses` lists what a statement touches.
"""

from __future__ import annotations

from . import ir
from .names import Ctx, Names


class AtomicityRule:
    """Checks each resolved statement against the atomicity rule."""

    def __init__(self, names: Names) -> None:
        self.names = names

    def statement(self, st: ir.Stmt, ctx: Ctx) -> ir.Stmt:
        """Outside atomic blocks a statement touches shared state at most once (ghosts aside)."""
        if ctx.in_atomic:
            return st
        accesses = shared_accesses(st)
        if len(accesses) > 1:
            names = ", ".join(accesses)
            self.names.err(st.span, f"this statement makes {len(accesses)} shared accesses ({names}); "
                           "each statement is one atomic step and may touch shared state once",
                           "split it into one statement per access, or wrap it in 'atomic { }' if the C really does it in one step")
        return st

    def atomic_block(self, body: tuple[ir.Stmt, ...]) -> None:
        """An `await` inside an atomic block is its first statement."""
        for i, b in enumerate(ir.flatten(body)):
            if isinstance(b, ir.Await) and i != 0:
                self.names.err(b.span, "'await' inside an atomic block must be its first statement")


def shared_accesses(st: ir.Stmt) -> list[str]:
    """Names of the non-ghost shared accesses a simple statement makes, in evaluation order."""
    found: list[str] = []

    def loc_name(loc: ir.SharedLoc) -> str:
        if loc.name:
            return loc.name
        if loc.deref:
            return f"*(struct {loc.struct} **)"
        return f"{loc.struct}.{loc.field}" if loc.pointer is None else f"->{loc.field}"

    def walk_loc(loc: ir.SharedLoc) -> None:
        for sub in (loc.index, loc.pointer, loc.obj.index if loc.obj else None):
            if sub is not None:
                walk(sub)

    def walk(e: ir.Expr | None) -> None:
        if e is None:
            return
        if isinstance(e, ir.Read):
            walk_loc(e.loc)
            if not e.loc.ghost:
                found.append(loc_name(e.loc))
        elif isinstance(e, ir.AtomicOp):
            walk_loc(e.loc)
            for a in e.args:
                walk(a)
            if not e.loc.ghost:
                found.append(f"{e.op}({loc_name(e.loc)})")
        elif isinstance(e, ir.RefOp):
            walk(e.pointer)
            found.append(f"{e.op}()")
        elif isinstance(e, (ir.Unary,)):
            walk(e.operand)
        elif isinstance(e, ir.Binary):
            walk(e.left)
            walk(e.right)
        elif isinstance(e, ir.Ternary):
            walk(e.cond)
            walk(e.then)
            walk(e.other)
        elif isinstance(e, ir.ConstField):
            walk(e.pointer)
            if e.obj is not None:
                walk(e.obj.index)
        elif isinstance(e, ir.AddressOf):
            walk(e.obj.index)
        elif isinstance(e, ir.WordAddress):
            walk_loc(e.loc)   # naming the word accesses no memory

    if isinstance(st, ir.AssignShared):
        walk(st.value)
        walk_loc(st.loc)
        if not st.loc.ghost:
            found.append(loc_name(st.loc))
    elif isinstance(st, (ir.AssignLocal,)):
        walk(st.value)
    elif isinstance(st, ir.Eval):
        walk(st.expr)
    elif isinstance(st, (ir.Check, ir.Assume, ir.Await)):
        walk(st.cond)
    return found
