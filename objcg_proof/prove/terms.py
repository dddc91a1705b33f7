"""Symbolic terms: the values the unroller computes and the encoder translates.

A term is a word (fixed-width unsigned) or a boolean. Smart constructors fold constants and a
few identities, so loops whose conditions depend only on constants unroll exactly. Terms are
plain frozen dataclasses: no solver object appears before prove/encode.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

WORD = "w"
BOOL = "b"


# NOTE(term-interning): every term is built by one TermBuilder, which interns it, so two terms
# are equal exactly when they are the same object. Equality and hashing are by identity (cheap
# on deep DAGs); walks over terms memoise by id(). Never construct Const/Sym/App directly.
@dataclass(frozen=True, eq=False)
class Term:
    """A term of the unrolled program, a word (`WORD`) or a boolean (`BOOL`); no solver object."""

    sort: str


@dataclass(frozen=True, eq=False)
class Const(Term):
    """A constant of its sort."""

    value: int


@dataclass(frozen=True, eq=False)
class Sym(Term):
    """A value chosen by the execution: what a read returned, a nondet choice."""

    name: str


@dataclass(frozen=True, eq=False)
class App(Term):
    """An operator applied to argument terms."""

    op: str
    args: tuple[Term, ...]


TRUE = Const(BOOL, 1)
FALSE = Const(BOOL, 0)

# word -> word ops and word x word -> bool comparisons
WORD_OPS = ("+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "~", "neg", "ite")
CMP_OPS = ("==", "!=", "<", "<=", ">", ">=")
BOOL_OPS = ("and", "or", "not", "bite")


class TermBuilder:
    """Constructors for one word width; folds constants."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.mask = (1 << width) - 1
        self._table: dict[tuple[object, ...], Term] = {("c", BOOL, 1): TRUE, ("c", BOOL, 0): FALSE}

    def size(self) -> int:
        """How many distinct terms were built (the unroller's size limit counts them)."""
        return len(self._table)

    def word(self, v: int) -> Const:
        key = ("c", WORD, v & self.mask)
        t = self._table.get(key)
        if t is None:
            t = self._table[key] = Const(WORD, v & self.mask)
        return t  # type: ignore[return-value]

    def sym(self, sort: str, name: str) -> Sym:
        key = ("s", sort, name)
        t = self._table.get(key)
        if t is None:
            t = self._table[key] = Sym(sort, name)
        return t  # type: ignore[return-value]

    def app(self, sort: str, op: str, args: tuple[Term, ...]) -> Term:
        key = ("a", sort, op) + tuple(id(a) for a in args)
        t = self._table.get(key)
        if t is None:
            t = self._table[key] = App(sort, op, args)
        return t

    def boolean(self, b: bool) -> Const:
        return TRUE if b else FALSE

    # -- conversions
    def truth(self, t: Term) -> Term:
        """C truth value of a word: t != 0."""
        if t.sort == BOOL:
            return t
        if isinstance(t, App) and t.op == "ite" and isinstance(t.args[1], Const) and isinstance(t.args[2], Const):
            a, b = t.args[1].value != 0, t.args[2].value != 0
            if a and not b:
                return t.args[0]
            if b and not a:
                return self.not_(t.args[0])
        return self.cmp("!=", t, self.word(0))

    def to_word(self, t: Term) -> Term:
        if t.sort == WORD:
            return t
        if isinstance(t, Const):
            return self.word(t.value)
        return self.app(WORD, "ite", (t, self.word(1), self.word(0)))

    # -- boolean
    def not_(self, a: Term) -> Term:
        a = self.truth(a)
        if isinstance(a, Const):
            return self.boolean(not a.value)
        if isinstance(a, App) and a.op == "not":
            return a.args[0]
        if isinstance(a, App) and a.op in ("==", "!="):
            return self.app(BOOL, "!=" if a.op == "==" else "==", a.args)
        return self.app(BOOL, "not", (a,))

    def and_(self, *args: Term) -> Term:
        flat: list[Term] = []
        for a in args:
            a = self.truth(a)
            if a == FALSE:
                return FALSE
            if a == TRUE:
                continue
            parts = a.args if isinstance(a, App) and a.op == "and" else (a,)
            for p in parts:
                if p not in flat:
                    flat.append(p)
        if not flat:
            return TRUE
        if len(flat) == 1:
            return flat[0]
        return self.app(BOOL, "and", tuple(flat))

    def or_(self, *args: Term) -> Term:
        flat: list[Term] = []
        for a in args:
            a = self.truth(a)
            if a == TRUE:
                return TRUE
            if a == FALSE:
                continue
            parts = a.args if isinstance(a, App) and a.op == "or" else (a,)
            for p in parts:
                if p not in flat:
                    flat.append(p)
        if not flat:
            return FALSE
        if len(flat) == 1:
            return flat[0]
        return self.app(BOOL, "or", tuple(flat))

    def implies(self, a: Term, b: Term) -> Term:
        return self.or_(self.not_(a), b)

    def ite(self, c: Term, a: Term, b: Term) -> Term:
        c = self.truth(c)
        if c == TRUE or a == b:
            return a
        if c == FALSE:
            return b
        if a.sort == BOOL or b.sort == BOOL:
            if a.sort != b.sort:
                a, b = self.to_word(a), self.to_word(b)
            else:
                return self.or_(self.and_(c, a), self.and_(self.not_(c), b))
        return self.app(WORD, "ite", (c, a, b))

    # -- words
    def cmp(self, op: str, a: Term, b: Term) -> Term:
        a, b = self.to_word(a), self.to_word(b)
        if isinstance(a, Const) and isinstance(b, Const):
            x, y = a.value, b.value
            return self.boolean({"==": x == y, "!=": x != y, "<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op])
        if a == b:
            return self.boolean(op in ("==", "<=", ">="))
        # (ite c k1 k2) == k: decide by constants
        if op in ("==", "!=") and isinstance(b, Const) and isinstance(a, App) and a.op == "ite":
            eq = self.ite(a.args[0], self.cmp("==", a.args[1], b), self.cmp("==", a.args[2], b))
            if all(isinstance(x, Const) for x in a.args[1:]):
                return eq if op == "==" else self.not_(eq)
        return self.app(BOOL, op, (a, b))

    def binary(self, op: str, a: Term, b: Term) -> Term:
        if op in CMP_OPS:
            return self.cmp(op, a, b)
        if op == "&&":
            return self.and_(a, b)
        if op == "||":
            return self.or_(a, b)
        a, b = self.to_word(a), self.to_word(b)
        if isinstance(a, Const) and isinstance(b, Const):
            r = _fold(op, a.value, b.value, self.width)
            if r is not None:
                return self.word(r)
        if op in ("|", "^", "+", "-", "<<", ">>") and b == self.word(0):
            return a
        if op in ("|", "^", "+") and a == self.word(0):
            return b
        if op == "&" and (a == self.word(0) or b == self.word(0)):
            return self.word(0)
        if op == "&" and b == self.word(self.mask):
            return a
        if op in ("&", "|", "^", "+", "-", "ite") and isinstance(a, App) and a.op == "ite" and isinstance(b, Const) \
                and all(isinstance(x, Const) for x in a.args[1:]):
            return self.ite(a.args[0], self.binary(op, a.args[1], b), self.binary(op, a.args[2], b))
        return self.app(WORD, op, (a, b))

    def unary(self, op: str, a: Term) -> Term:
        if op == "!":
            return self.not_(a)
        a = self.to_word(a)
        if isinstance(a, Const):
            return self.word(~a.value if op == "~" else -a.value)
        return self.app(WORD, "~" if op == "~" else "neg", (a,))


def _fold(op: str, x: int, y: int, width: int) -> int | None:
    mask = (1 << width) - 1
    table: dict[str, Callable[[int, int], int]] = {
        "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
        "&": lambda a, b: a & b, "|": lambda a, b: a | b, "^": lambda a, b: a ^ b,
        "<<": lambda a, b: a << b if b < width else 0, ">>": lambda a, b: a >> b if b < width else 0,
    }
    if op in ("/", "%"):
        if y == 0:
            return None  # the encoder follows SMT-LIB's bvudiv/bvurem; see docs/semantics.md
        return x // y if op == "/" else x % y
    return table[op](x, y) & mask


def substitute(t: Term, mapping: dict[int, Term], tb: TermBuilder) -> Term:
    """Replace the terms whose id() is in `mapping` (evaluate an await on final memory)."""
    memo: dict[int, Term] = {}

    def known(x: Term) -> Term | None:
        hit = mapping.get(id(x))
        if hit is not None:
            return hit
        if not isinstance(x, App):
            return x
        return memo.get(id(x))

    # iterative post-order: terms can be deeper than Python's recursion limit (a value carried
    # through many unrolled iterations)
    stack: list[Term] = [t]
    while stack:
        x = stack[-1]
        if known(x) is not None:
            stack.pop()
            continue
        assert isinstance(x, App)
        pending = [a for a in x.args if known(a) is None]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        args = tuple(known(a) for a in x.args)   # type: ignore[misc]
        memo[id(x)] = x if all(a is b for a, b in zip(args, x.args)) else tb.app(x.sort, x.op, args)  # type: ignore[arg-type]
    out = known(t)
    assert out is not None
    return out


def symbols(t: Term) -> list[Sym]:
    """The symbols a term mentions, each once, in the order first met (without recursion)."""
    seen: set[int] = set()
    out: list[Sym] = []
    stack: list[Term] = [t]
    while stack:
        x = stack.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        if isinstance(x, Sym):
            out.append(x)
        elif isinstance(x, App):
            stack.extend(reversed(x.args))
    return out


def evaluate(t: Term, env: dict[str, int], width: int, memo: dict[int, int] | None = None) -> int:
    """Concrete value of a term under an assignment of its symbols (decode and replay)."""
    mask = (1 << width) - 1
    if memo is None:
        memo = {}
    if isinstance(t, Const):
        return t.value
    if isinstance(t, Sym):
        return env.get(t.name, 0)
    hit = memo.get(id(t))
    if hit is not None:
        return hit
    assert isinstance(t, App)
    op = t.op
    if op == "ite":
        r = evaluate(t.args[1], env, width, memo) if evaluate(t.args[0], env, width, memo) else evaluate(t.args[2], env, width, memo)
        memo[id(t)] = r
        return r
    vals = [evaluate(a, env, width, memo) for a in t.args]
    if op == "and":
        r = int(all(vals))
    elif op == "or":
        r = int(any(vals))
    elif op == "not":
        r = int(not vals[0])
    elif op in CMP_OPS:
        x, y = vals
        r = int({"==": x == y, "!=": x != y, "<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op])
    elif op == "~":
        r = ~vals[0] & mask
    elif op == "neg":
        r = -vals[0] & mask
    elif op in ("/", "%") and vals[1] == 0:
        r = mask if op == "/" else vals[0]  # SMT-LIB bvudiv / bvurem by zero
    else:
        folded = _fold(op, vals[0], vals[1], width)
        assert folded is not None
        r = folded
    memo[id(t)] = r
    return r
