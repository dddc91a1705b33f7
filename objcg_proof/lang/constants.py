"""Constant expressions for the resolve stage, and the numbers rule (NOTE(numbers)).

`Constants` reads the model's word width first, then evaluates every constant expression the
declarations hold (constants, params and their `-D` values, the bound, array sizes, initial
values, `nondet(n)`), in words of that width or exactly for counts. Its diagnostics go to the
resolver's `Names`.
"""

from __future__ import annotations

from typing import Callable

from . import ir
from . import syntax as s
from .diagnostics import NO_SPAN, Span
from .names import Bail, Names

DEFAULT_WIDTH = 16
DEFAULT_BOUND = 2
MAX_BOUND = 64
EXACT_BITS = 128   # an exactly evaluated count (NOTE(numbers)) beyond this many bits is refused


class Constants:
    """The model's word width and the value of each constant expression (NOTE(numbers))."""

    def __init__(self, names: Names, bound_override: int | None) -> None:
        self.names = names
        self.bound_override = bound_override
        self.width = DEFAULT_WIDTH
        self._reading_width = False

    def read_width(self, decls: tuple[s.Decl, ...]) -> Span | None:
        """Read `width` before anything else: it decides whether every other number fits
        (NOTE(numbers)). Returns where the width is written, if it is."""
        width_decls = [d for d in decls if isinstance(d, s.WidthDecl)]
        for d in width_decls[1:]:
            self.names.err(d.span, "'width' is declared more than once")
        if not width_decls:
            return None
        self._reading_width = True
        w = self.const_or(width_decls[0].value, DEFAULT_WIDTH, exact=True)
        self._reading_width = False
        if not 8 <= w <= 64:
            self.names.err(width_decls[0].value.span, f"word width must be between 8 and 64 bits, not {w}")
        else:
            self.width = w
        return width_decls[0].value.span

    def override(self, d: s.ConstDecl, value: int) -> int:
        """A `-D` value for param `d`: it must fit the model's word, never wrap (NOTE(numbers))."""
        top = (1 << self.width) - 1
        if 0 <= value <= top:
            return value
        self.names.err(NO_SPAN, f"-D {d.name}={value}: param '{d.name}' is a {self.width}-bit word: "
                       f"expected 0 to {top} ({top:#x})", f"'{d.name}' is declared at {d.span}")
        return self.const_or(d.value, 0)

    def bound(self, decls: tuple[s.Decl, ...]) -> tuple[int, Span]:
        bounds = [d for d in decls if isinstance(d, s.BoundDecl)]
        for d in bounds[1:]:
            self.names.err(d.span, "'bound' is declared more than once")
        value, span = DEFAULT_BOUND, NO_SPAN
        if bounds:
            value, span = self.const_or(bounds[0].value, DEFAULT_BOUND, exact=True), bounds[0].value.span
            if value < 1:
                self.names.err(span, f"the bound must be at least 1, not {value}")
        if self.bound_override is not None:
            value, span = self.bound_override, NO_SPAN
        if value > MAX_BOUND:
            self.names.err(span, f"the bound {value} is larger than the maximum {MAX_BOUND}")
        return value, span

    def const_or(self, e: s.Expr, default: int, exact: bool = False) -> int:
        """The value of `e`, or `default` when it is not a valid constant (already reported)."""
        try:
            return self.const_eval(e, exact)
        except Bail:
            return default

    # NOTE(numbers): a number meets a machine word in three places, and never wraps silently.
    # - A literal in the source must fit the model's word (0 to 2^width - 1): `70000` in a 16-bit
    #   model is an error at the literal. What the model computes wraps like C unsigned
    #   arithmetic (`-1`, `~0`, `0xFFFF + 1`).
    # - A count (`width`, `bound`, an array size) is evaluated exactly (exact=True: no wrapping,
    #   `-1` is -1) and then range-checked, so `shared word a[65537]` is refused, not 1 element.
    # - A `-D` value must fit the model's word (`override`); cli/options.py checks its spelling.
    def const_eval(self, e: s.Expr, exact: bool = False) -> int:
        """Evaluate a constant expression (constants, params, numbers, &object, operators)."""
        bail = self.names.bail
        mask = -1 if exact else (1 << self.width) - 1
        if isinstance(e, s.Num):
            return e.value if exact else self.literal(e)
        if isinstance(e, s.Null):
            return 0
        if isinstance(e, s.Name):
            if e.ident in self.names.consts:
                return self.names.consts[e.ident]
            if self._reading_width:
                raise bail(e.span, f"'width' takes numbers only, not '{e.ident}': it is read before any constant")
            raise bail(e.span, f"'{e.ident}' is not a constant: expected a constant expression")
        if isinstance(e, s.Unary):
            v = self.const_eval(e.operand, exact)
            return {"!": int(v == 0), "~": ~v & mask, "-": -v & mask}[e.op]
        if isinstance(e, s.Binary):
            a, b = self.const_eval(e.left, exact), self.const_eval(e.right, exact)
            if exact and e.op in ("<<", ">>") and b < 0:
                raise bail(e.right.span, f"a shift by a negative amount ({b}) in a constant expression")
            if exact and e.op == "<<" and b >= EXACT_BITS:
                raise bail(e.span, f"this constant expression is far out of range (a shift by {b})")
            r = fold_binary(e.op, a, b, EXACT_BITS if exact else self.width, mask)
            if r is None:
                raise bail(e.span, "division by zero in a constant expression")
            if exact and not -(1 << EXACT_BITS) < r < 1 << EXACT_BITS:
                raise bail(e.span, f"this constant expression is far out of range ({r.bit_length()} bits)")
            return r
        if isinstance(e, s.Ternary):
            return self.const_eval(e.then, exact) if self.const_eval(e.cond, exact) else self.const_eval(e.other, exact)
        if isinstance(e, s.Cast):
            return self.const_eval(e.operand, exact)
        if isinstance(e, s.AddressOf) and self.names.object_infos:
            ref = self.object_ref(e.operand)
            if ref is not None and ref.index is None and len(ref.candidates) == 1:
                return self.names.object_infos[ref.candidates[0]].address
        raise bail(e.span, "expected a constant expression (numbers, constants, NULL, &object and operators)")

    def literal(self, e: s.Num) -> int:
        """A number written in the source: it must fit the model's word (NOTE(numbers))."""
        top = (1 << self.width) - 1
        if e.value > top:
            raise self.names.bail(e.span, f"the number {e.value} does not fit in {self.width}-bit words (0 to {top:#x})",
                                  "declare a larger 'width', or write the value the word holds")
        return e.value

    def object_ref(self, e: s.Expr) -> ir.ObjectRef | None:
        """`obj` or `arr[i]` with a constant index, outside any scope (see Names.object_ref)."""
        return self.names.object_ref(e, None, lambda index: ir.Const(self.const_eval(index)))


def fold_binary(op: str, a: int, b: int, width: int, mask: int) -> int | None:
    """`a op b` in `width`-bit words (`mask` is 2^width - 1), or exactly (mask -1: no wrap)."""
    table: dict[str, Callable[[int, int], int]] = {
        "+": lambda x, y: (x + y) & mask, "-": lambda x, y: (x - y) & mask, "*": lambda x, y: (x * y) & mask,
        "&": lambda x, y: x & y, "|": lambda x, y: x | y, "^": lambda x, y: x ^ y,
        "<<": lambda x, y: (x << y) & mask if y < width else 0, ">>": lambda x, y: x >> y if y < width else 0,
        "==": lambda x, y: int(x == y), "!=": lambda x, y: int(x != y), "<": lambda x, y: int(x < y),
        "<=": lambda x, y: int(x <= y), ">": lambda x, y: int(x > y), ">=": lambda x, y: int(x >= y),
        "&&": lambda x, y: int(bool(x) and bool(y)), "||": lambda x, y: int(bool(x) or bool(y)),
    }
    if op in ("/", "%"):
        if b == 0:
            return None
        return a // b if op == "/" else a % b
    return table[op](a, b)
