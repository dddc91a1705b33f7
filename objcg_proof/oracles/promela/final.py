"""The end of a run in the Promela export: the leak check and the `final` block's checks.

Both are about the memory once every thread has finished (docs/semantics.md, "Properties" and
"End-of-run checks"), so the thread that finishes last runs them: each thread's finish
instruction counts itself in `nfinished` and, when it is the last, checks that every refcounted
object's count equals the references the final block holds on it (`holds`: 0 without one) and
each final `assert`. A final expression is pure and total (lang/final.py), so it is one Promela
expression on the globals.
"""

from __future__ import annotations

from ...lang import ir
from ...lang.final import static_location, static_object
from .context import ExportContext
from .formulas import binary_op


def end_properties(x: ExportContext) -> list[str]:
    """The kept properties checked at the end of the run: leak (with a refcounted object), and
    those of the final block's asserts."""
    out = []
    if "leak" in x.keep and _refcounted(x):
        out.append("leak")
    for c in _final(x).checks:
        name = ir.property_name(c.kind, c.label, c.span)
        if name in x.keep and name not in out:
            out.append(name)
    return out


def end_guard(x: ExportContext) -> str:
    """The `#if` that keeps the end-of-run code when some property it checks is selected."""
    numbers = " || ".join(f"PROPERTY == {x.numbers[p]}" for p in end_properties(x))
    return f"#if PROPERTY < 0 || PROPERTY == 0 || {numbers}"


def end_code(x: ExportContext) -> list[str]:
    """A thread's finish: count it; the last one checks leak and the final block."""
    for c in _final(x).checks:   # a site whether or not the selection keeps it, as in the threads
        x.sites.add(ir.property_name(c.kind, c.label, c.span))
    if not end_properties(x):
        return []
    checks: list[str] = []
    refcounted = _refcounted(x)
    if "leak" in x.keep and refcounted:
        held = [final_expr(x, h.pointer) for h in _final(x).holds]
        exact = " && ".join(
            f"(({x.loc_names[x.layout.refcount_location(o.index)]} & {x.count_mask}) == {_held(held, o.address)})"
            for o in refcounted)
        checks += x.check("leak", f"({exact})")
    for c in _final(x).checks:
        checks += x.check(ir.property_name(c.kind, c.label, c.span), f"({final_expr(x, c.cond)} != 0)")
    return ([end_guard(x), "nfinished = nfinished + 1;", "if", f":: nfinished == {len(x.prog.threads)} -> skip;"]
            + ["   " + line for line in checks] + [":: else -> skip;", "fi;", "#endif"])


def final_expr(x: ExportContext, e: ir.Expr) -> str:
    """A final expression (lang/final.py: pure, total, locations named statically) as Promela."""
    m = x.mask
    if isinstance(e, ir.Const):
        return str(e.value & m)
    if isinstance(e, ir.Unary):
        v = final_expr(x, e.operand)
        return {"!": f"({v} == 0)", "~": f"(~{v} & {m})", "-": f"(-{v} & {m})", "+": v}[e.op]
    if isinstance(e, ir.Binary):
        a, b = final_expr(x, e.left), final_expr(x, e.right)
        if e.op in ("&&", "||"):
            return f"(({a} != 0) {e.op} ({b} != 0))"
        return binary_op(e.op, a, b, x.width, m)
    if isinstance(e, ir.Ternary):
        return f"(({final_expr(x, e.cond)} != 0) -> {final_expr(x, e.then)} : {final_expr(x, e.other)})"
    if isinstance(e, ir.AddressOf):
        return str(x.layout.objects[static_object(e.obj)].address)
    if isinstance(e, ir.ConstField):
        assert e.obj is not None
        return str(dict(x.layout.objects[static_object(e.obj)].const_values)[e.field] & m)
    if isinstance(e, ir.Read):
        return x.loc_names[static_location(x.layout, e.loc)]
    if isinstance(e, ir.RefOp) and e.op == "refcount" and isinstance(e.pointer, ir.AddressOf):
        obj = static_object(e.pointer.obj)
        return f"({x.loc_names[x.layout.refcount_location(obj)]} & {x.count_mask})"
    raise AssertionError(f"not a final expression: {type(e).__name__}")


def _held(held: list[str], address: int) -> str:
    """How many of the held pointers are `address`, as a Promela expression."""
    return " + ".join(f"(({p} == {address}) -> 1 : 0)" for p in held) if held else "0"


def _final(x: ExportContext) -> ir.Final:
    return x.prog.final if x.prog.final is not None else ir.Final((), ())


def _refcounted(x: ExportContext) -> list[ir.ObjectInfo]:
    return [o for o in x.layout.objects if x.layout.struct(o.struct).refcounted]
