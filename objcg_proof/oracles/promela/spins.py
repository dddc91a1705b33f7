"""A spin loop's iteration as one Promela expression (docs/semantics.md, "Spin loops").

Input: an `ir.Loop` marked `spin` (lang/spin_loops.py) and the unit of its wait node. Output:
`exit_guard`, the condition that one iteration, run now in one go, leaves the loop or reaches a
failed access: the guard of the node a thread waits at after an iteration that went round
(thread.py). The iteration only reads shared memory and sets locals it assigns before reading
them, so its value is one expression on the globals and locals (`WaitConditions.pure`), with
the locals it assigns substituted in (the overlay) and each `if` followed on both sides.
"""

from __future__ import annotations

from ...lang import ir
from .unit import Unit
from .waits import WaitConditions


def _and(a: str, b: str) -> str:
    if a == "0" or b == "0":
        return "0"
    return b if a == "1" else a if b == "1" else f"({a} && {b})"


def _or(*parts: str) -> str:
    kept = [p for p in parts if p and p != "0"]
    if "1" in kept:
        return "1"
    return "0" if not kept else kept[0] if len(kept) == 1 else "(" + " || ".join(kept) + ")"


class SpinIteration:
    """One iteration of a spin loop, followed on every path: where it leaves the loop (`exits`)
    and where it fails an access (`poisons`), each as the condition of the path that gets there."""

    def __init__(self, unit: Unit) -> None:
        self.w = WaitConditions(unit)
        self.exits: list[str] = []
        self.poisons: list[str] = []

    def exit_guard(self, loop: ir.Loop) -> str:
        path = "1"
        if loop.cond_first:
            path = self.condition(loop.cond, path)
        path, conts = self.stmts(loop.body, path)
        if not loop.cond_first:
            self.condition(loop.cond, _or(path, *conts))
        return _or(*self.exits, *self.poisons)

    def value(self, e: ir.Expr, path: str) -> str:
        v, poison = self.w.pure(e, e.span if hasattr(e, "span") else ir.Const(0).span)
        if poison:
            self.poisons.append(_and(path, poison))
        return v

    def condition(self, cond: ir.Expr, path: str) -> str:
        """The loop's condition: false leaves the loop; returns the path that goes on."""
        c = self.value(cond, path)
        self.exits.append(_and(path, f"({c} == 0)"))
        return _and(path, f"({c} != 0)")

    def stmts(self, stmts: tuple[ir.Stmt, ...], path: str) -> tuple[str, list[str]]:
        """Follow the statements from `path`: the path that falls through, and those that `continue`."""
        conts: list[str] = []
        for st in stmts:
            if path == "0":
                break
            if isinstance(st, ir.Seq):
                path, inner = self.stmts(st.body, path)
                conts += inner
            elif isinstance(st, ir.AssignLocal):
                self.w.overlay[self.w.vars.local(st.var, self.w.ctx)] = self.value(st.value, path)
            elif isinstance(st, ir.Eval):
                self.value(st.expr, path)
            elif isinstance(st, ir.If):
                c = self.value(st.cond, path)
                before = dict(self.w.overlay)
                then_path, then_conts = self.stmts(st.then, _and(path, f"({c} != 0)"))
                after_then, self.w.overlay = self.w.overlay, dict(before)
                other_path, other_conts = self.stmts(st.other, _and(path, f"({c} == 0)"))
                after_other = self.w.overlay
                self.w.overlay = {k: f"(({c} != 0) -> {after_then.get(k, before.get(k, k))} : "
                                     f"{after_other.get(k, before.get(k, k))})"
                                  for k in set(after_then) | set(after_other)}
                path = _or(then_path, other_path)
                conts += then_conts + other_conts
            elif isinstance(st, ir.Break):
                self.exits.append(path)
                path = "0"
            elif isinstance(st, ir.Continue):
                conts.append(path)
                path = "0"
            else:
                raise AssertionError(f"{type(st).__name__} in a spin loop (lang/spin_loops.py)")
        return path, conts
