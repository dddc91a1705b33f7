"""Pieces of Promela text that every part of the export writes: a disjunction, an identifier
made of a model's name, the values an atomic builtin or a refcount builtin reads and writes,
and the diagnostic for a construct the export cannot represent exactly."""

from __future__ import annotations

import re

from ...lang.diagnostics import Diagnostic, Span, UserError
from ...lang.ir import ATOMIC_ARITH, ArithRMW


def disjunction(*parts: str) -> str:
    kept = [p for p in parts if p]
    return "" if not kept else kept[0] if len(kept) == 1 else "(" + " || ".join(kept) + ")"


def conjunction(*parts: str | None) -> str | None:
    """Conditions joined by `&&`; None stands for true (None if every part is)."""
    if "0" in parts:
        return "0"
    kept = [p for p in parts if p]
    return None if not kept else kept[0] if len(kept) == 1 else "(" + " && ".join(kept) + ")"


def ident(text: str) -> str:
    """A Promela identifier part: `task[0]` -> `task_0`, `f()` -> `f__`."""
    return re.sub(r"[^A-Za-z0-9_]", "_", text.replace("[", "_").replace("]", ""))


def unsupported(span: Span, what: str) -> UserError:
    return UserError(Diagnostic(span, f"{what} is not supported by the Promela export",
                                ("the prover accepts it; only the SPIN cross-check cannot represent it exactly",)))


def binary_op(op: str, a: str, b: str, width: int, mask: int) -> str:
    """A binary operator on two words, but division and remainder (their `uaf` check is unit.py's)."""
    if op in ("+", "-", "*"):
        return f"(({a} {op} {b}) & {mask})"
    if op in ("&", "|", "^", "==", "!=", "<", "<=", ">", ">="):
        return f"({a} {op} {b})"
    if op == "<<":
        return f"(({b} < {width}) -> (({a} << {b}) & {mask}) : 0)"
    if op == ">>":
        return f"(({b} < {width}) -> ({a} >> {b}) : 0)"
    raise AssertionError(op)


def atomic_builtin(op: str, r: str, args: list[str], width: int, mask: int) -> tuple[str, str]:
    """An atomic builtin on a word read as `r`: (the value written, the result)."""
    a = args + ["0", "0"]
    bit = f"(({a[0]} < {width}) -> ((1 << {a[0]}) & {mask}) : 0)"
    return {
        "xchg": (a[0], r),
        "cmpxchg": (f"(({r} == {a[0]}) -> {a[1]} : {r})", r),
        "try_cmpxchg": (f"(({r} == {a[0]}) -> {a[1]} : {r})", f"({r} == {a[0]})"),
        "set_bit": (f"({r} | {bit})", "0"),
        "test_and_set_bit": (f"({r} | {bit})", f"(({r} & {bit}) != 0)"),
        "clear_bit": (f"({r} & (~{bit} & {mask}))", "0"),
        "test_and_clear_bit": (f"({r} & (~{bit} & {mask}))", f"(({r} & {bit}) != 0)"),
        **{name: _arith(arith, r, a[0], mask) for name, arith in ATOMIC_ARITH.items()},
        "atomic_dec_and_test": (f"(({r} - 1) & {mask})", f"((({r} - 1) & {mask}) == 0)"),
        "atomic_inc_not_zero": (f"(({r} != 0) -> (({r} + 1) & {mask}) : {r})", f"({r} != 0)"),
        "spin_lock": ("1", "0"),
    }[op]


def _arith(arith: ArithRMW, r: str, i: str, mask: int) -> tuple[str, str]:
    """An arithmetic or bitwise RMW of an atomic_t (lang/ir.py, ATOMIC_ARITH): (written, result)."""
    amount = "1" if arith.by_one else i
    new = {"+": f"(({r} + {amount}) & {mask})", "-": f"(({r} - {amount}) & {mask})", "&": f"({r} & {amount})",
           "|": f"({r} | {amount})", "&~": f"({r} & (~{amount} & {mask}))"}[arith.operator]
    return new, {"old": r, "new": new, "none": "0"}[arith.returns]


def refcount_builtin(op: str, r: str, kill: int, mask: int) -> tuple[str | None, str]:
    """A refcount builtin on a refcount word read as `r`: (the value written or None, the result)."""
    alive = f"(({r} & {kill - 1}) != 0)"
    live = f"({alive} && (({r} & {kill}) == 0))"
    return {
        "get": (f"(({r} + 1) & {mask})", "0"),
        "put": (f"(({r} - 1) & {mask})", "0"),
        "kill": (f"((({r} | {kill}) - 1) & {mask})", "0"),
        "tryget": (f"({alive} -> (({r} + 1) & {mask}) : {r})", alive),
        "tryget_live": (f"({live} -> (({r} + 1) & {mask}) : {r})", live),
        "refcount": (None, f"({r} & {kill - 1})"),
    }[op]

