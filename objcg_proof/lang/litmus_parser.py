"""Parse stage for litmus tests: the kernel's C litmus format -> `litmus_syntax.LitmusTest`.

Input: a path (or text). Output: one `LitmusTest`, every node with its span. The grammar is
grammar/litmus.lark (loaded and cached as lang/parser.py loads the DSL's); errors are
`UserError`s with file:line:column and what was expected, as for the DSL, and lark's exceptions
never leave this module.

The format is herd7's, as the kernel's tests use it (tools/memory-model/litmus-tests,
Documentation/litmus-tests): `C name`, an initial state in braces (mainline's `{}` and the older
typed form `{ int x; spinlock_t lo; }` alike), threads `P0(int *x) { ... }` numbered from 0 in
order, then `locations [...]`, `filter (...)` and one final condition (`exists`, `~exists` or
`forall`). OCaml comments `(* ... *)` may stand anywhere outside braces; inside a thread `(*`
is C (`READ_ONCE(*x)`), so they are blanked out before the grammar sees the text
(`blank_ocaml_comments`), line breaks kept so that positions stay true.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import lark
from lark import Token, v_args
from lark.exceptions import UnexpectedInput, VisitError

from . import litmus_syntax as ls
from . import syntax as s
from .diagnostics import SourceCache, SourceUnreadable, Span, UserError, error, printable, read_source
from .parser import SpannedTransformer, build_lark, decode_source, syntax_error, transform

GRAMMAR_FILE = "litmus.lark"

_TOKEN_WORDS = {
    "SEMICOLON": "';'", "LPAR": "'('", "RPAR": "')'", "LBRACE": "'{'", "RBRACE": "'}'",
    "LSQB": "'['", "RSQB": "']'", "COMMA": "','", "EQUAL": "'='", "NAME": "a name",
    "SIGNED_NUMBER": "a number", "STAR": "'*'", "AMP": "'&'", "TYPE_NAME": "a type (int, atomic_t, spinlock_t ...)",
    "THREAD_NAME": "a thread (P0, P1 ...)", "THREAD_REG": "a register (0:r0)", "TEST_NAME": "the test's name",
    "QUANTIFIER": "exists, ~exists or forall", "CONJ": "'/\\'", "DISJ": "'\\/'", "NEG": "'~'",
    "ADDOP": "'+', '-'", "UNOP": "'!', '~'", "MULOP": "'/', '%'", "EQOP": "'==', '!='",
    "RELOP": "'<', '>', '<=', '>='", "SHIFTOP": "'<<', '>>'", "LOR": "'||'", "LAND": "'&&'", "BOR": "'|'", "BXOR": "'^'",
    "$END": "end of file",
}


@lru_cache(maxsize=1)
def _lark() -> lark.Lark:
    text = resources.files("objcg_proof.lang").joinpath("grammar", GRAMMAR_FILE).read_text(encoding="utf-8")
    return build_lark(text)


def load_litmus(path: str, sources: SourceCache) -> ls.LitmusTest:
    """Read and parse one litmus file (a regular file of at most 16 MiB, UTF-8)."""
    where = Span(path, 0, 0)
    try:
        data = read_source(path)
    except (SourceUnreadable, OSError) as exc:
        raise error(where, f"cannot open '{printable(path)}': {exc}") from None
    text = decode_source(data, path, sources)
    sources.add(path, text)
    return parse_litmus(text, path)


def parse_litmus(text: str, file: str) -> ls.LitmusTest:
    """Parse the text of one litmus file."""
    if not text.strip():
        raise error(Span(file, 1, 1, 1, 2), "the litmus file is empty: expected 'C name', the initial state, threads and a condition")
    parser = _lark()
    try:
        tree = parser.parse(blank_ocaml_comments(text, file))
    except UnexpectedInput as exc:
        raise syntax_error(exc, text, file, parser, _TOKEN_WORDS) from None
    try:
        parts = transform(_Builder(file), tree, file)
    except VisitError as exc:
        if isinstance(exc.orig_exc, UserError):
            raise exc.orig_exc from None
        raise
    return _assemble(parts, text, file)


def blank_ocaml_comments(text: str, file: str) -> str:
    """`text` with every `(* ... *)` outside braces replaced by spaces (line breaks kept). C
    comments are skipped over, so a brace inside one does not count."""
    out = list(text)
    depth, i, n = 0, 0, len(text)
    while i < n:
        if text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2   # an unterminated one is the grammar's to report
        elif depth == 0 and text.startswith("(*", i):
            end = text.find("*)", i + 2)
            if end < 0:
                line = text.count("\n", 0, i) + 1
                column = i - (text.rfind("\n", 0, i) + 1) + 1
                raise error(Span(file, line, column, line, column + 2), "comment '(*' is never closed: expected '*)'")
            for k in range(i, end + 2):
                if out[k] != "\n":
                    out[k] = " "
            i = end + 2
        else:
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth = max(0, depth - 1)
            i += 1
    return "".join(out)


class _Builder(SpannedTransformer):
    """lark tree -> litmus_syntax (and syntax, for the threads' code) nodes."""

    def _register(self, tok: Token) -> tuple[int, str]:
        thread, register = str(tok).split(":", 1)
        return int(thread), register

    # -- top level
    def start(self, c: list[Any]) -> list[Any]:
        return c

    @v_args(meta=True)
    def header(self, meta: Any, c: list[Any]) -> tuple[str, str, Span]:
        return ("header", str(c[0]), self._span(meta))

    def init_block(self, c: list[Any]) -> tuple[str, tuple[Any, ...]]:
        return ("init", tuple(c))

    @v_args(meta=True)
    def init_item(self, meta: Any, c: list[Any]) -> ls.InitShared | ls.InitRegister:
        ctype = c[0] if isinstance(c[0], ls.CType) else None
        rest = c[1:] if ctype is not None else c
        target = rest[0]
        value = rest[1] if len(rest) > 1 else None
        if target[0] == "shared":
            return ls.InitShared(target[1], ctype, value, self._span(meta))
        thread, register = target[1]
        return ls.InitRegister(thread, register, ctype, value, self._span(meta))

    def init_type(self, c: list[Any]) -> ls.CType:
        return ls.CType(str(c[0]), len(c) - 1)

    def init_shared(self, c: list[Any]) -> tuple[str, str]:
        return ("shared", str(c[0]))

    def init_register(self, c: list[Any]) -> tuple[str, tuple[int, str]]:
        return ("register", self._register(c[0]))

    def init_number(self, c: list[Any]) -> s.Num:
        return s.Num(self._number(c[0]), self._tspan(c[0]))

    def init_address(self, c: list[Any]) -> ls.InitAddress:
        return ls.InitAddress(str(c[-1]), self._tspan(c[-1]))

    def init_macro(self, c: list[Any]) -> s.Num:
        if str(c[0]) != "ATOMIC_INIT":
            raise error(self._tspan(c[0]), f"unknown initialiser '{printable(str(c[0]))}(...)': expected a number, &name or ATOMIC_INIT(n)")
        return s.Num(self._number(c[1]), self._tspan(c[1]))

    def _number(self, tok: Token) -> int:
        """A C number: decimal, 0x hexadecimal or 0 octal, with an optional minus."""
        text = str(tok)
        digits = text.lstrip("-")
        if len(digits) > 40:
            raise error(self._tspan(tok), "number too long: at most 40 digits")
        sign = -1 if text.startswith("-") else 1
        if digits[:2].lower() == "0x":
            return sign * int(digits, 16)
        if len(digits) > 1 and digits.startswith("0"):
            if any(d in "89" for d in digits):
                raise error(self._tspan(tok), f"'{digits}' is not an octal number (a leading 0 means octal in C)")
            return sign * int(digits, 8)
        return sign * int(digits)

    # -- threads
    @v_args(meta=True)
    def thread(self, meta: Any, c: list[Any]) -> tuple[str, int, tuple[ls.Param, ...], s.Block, Span]:
        params = tuple(p for p in c[1:-1] if p is not None)
        return ("thread", int(str(c[0])[1:]), params, c[-1], self._span(meta))

    @v_args(meta=True)
    def param(self, meta: Any, c: list[Any]) -> ls.Param:
        return ls.Param(str(c[-1]), ls.CType(str(c[0]), len(c) - 2), self._span(meta))

    @v_args(meta=True)
    def block(self, meta: Any, c: list[Any]) -> s.Block:
        return s.Block(tuple(c), self._span(meta))

    @v_args(meta=True)
    def decl(self, meta: Any, c: list[Any]) -> ls.Decl:
        return ls.Decl(str(c[0]), tuple(c[1:]), self._span(meta))

    @v_args(meta=True)
    def declarator(self, meta: Any, c: list[Any]) -> ls.Declarator:
        stars = [x for x in c if isinstance(x, Token) and x.type == "STAR"]
        name = next(x for x in c if isinstance(x, Token) and x.type == "NAME")
        return ls.Declarator(str(name), len(stars), c[-1], self._span(meta))

    @v_args(meta=True)
    def assign(self, meta: Any, c: list[Any]) -> s.Assign:
        return s.Assign(c[0], c[1], self._span(meta))

    @v_args(meta=True)
    def call_stmt(self, meta: Any, c: list[Any]) -> s.ExprStmt:
        return s.ExprStmt(c[0], self._span(meta))

    @v_args(meta=True)
    def if_stmt(self, meta: Any, c: list[Any]) -> s.If:
        return s.If(c[0], c[1], c[2], self._span(meta))

    @v_args(meta=True)
    def empty(self, meta: Any, c: list[Any]) -> s.Empty:
        return s.Empty(self._span(meta))

    @v_args(meta=True)
    def loop(self, meta: Any, c: list[Any]) -> s.Empty:
        raise error(self._span(meta), "loops are not supported in litmus tests: expected straight-line code with 'if'")

    # -- expressions
    @v_args(meta=True)
    def call(self, meta: Any, c: list[Any]) -> s.Call:
        return s.Call(str(c[0]), tuple(a for a in c[1:] if a is not None), self._span(meta))

    def number(self, c: list[Any]) -> s.Num:
        return s.Num(self._number(c[0]), self._tspan(c[0]))

    def name(self, c: list[Any]) -> s.Name:
        return s.Name(str(c[0]), self._tspan(c[0]))

    @v_args(meta=True)
    def unop(self, meta: Any, c: list[Any]) -> s.Unary:
        return s.Unary(str(c[0]), c[1], self._span(meta))

    @v_args(meta=True)
    def deref(self, meta: Any, c: list[Any]) -> s.Deref:
        return s.Deref(c[0], self._span(meta))

    lv_name, lv_deref = name, deref   # the target of an assignment: `r0 = ...`, `*z = ...`

    @v_args(meta=True)
    def address_of(self, meta: Any, c: list[Any]) -> s.AddressOf:
        return s.AddressOf(c[1], self._span(meta))

    @v_args(meta=True)
    def _binary_chain(self, meta: Any, c: list[Any]) -> s.Binary:
        left = c[0]
        for i in range(1, len(c), 2):
            left = s.Binary(str(c[i]), left, c[i + 1], self._span(meta))
        return left

    or_expr = and_expr = bor_expr = bxor_expr = band_expr = eq_expr = rel_expr = shift_expr = add_expr = mul_expr = _binary_chain

    # -- after the threads
    @v_args(meta=True)
    def locations(self, meta: Any, c: list[Any]) -> tuple[str, tuple[ls.Location, ...], Span]:
        return ("locations", tuple(x for x in c if x is not None), self._span(meta))

    @v_args(meta=True)
    def filter(self, meta: Any, c: list[Any]) -> tuple[str, ls.Cond, Span]:
        return ("filter", c[0], self._span(meta))

    @v_args(meta=True)
    def condition(self, meta: Any, c: list[Any]) -> tuple[str, str, ls.Cond, Span]:
        return ("condition", str(c[0]), c[1], self._span(meta))

    def _connected(self, meta: Any, c: list[Any], node: type[ls.And] | type[ls.Or]) -> ls.Cond:
        left = c[0]
        for i in range(2, len(c), 2):   # operands at even places, the operator tokens between
            left = node(left, c[i], self._span(meta))
        return left

    @v_args(meta=True)
    def cond_or(self, meta: Any, c: list[Any]) -> ls.Cond:
        return self._connected(meta, c, ls.Or)

    @v_args(meta=True)
    def cond_and(self, meta: Any, c: list[Any]) -> ls.Cond:
        return self._connected(meta, c, ls.And)

    @v_args(meta=True)
    def cond_negation(self, meta: Any, c: list[Any]) -> ls.Not:
        return ls.Not(c[1], self._span(meta))

    @v_args(meta=True)
    def cond_equal(self, meta: Any, c: list[Any]) -> ls.Equal:
        return ls.Equal(c[0], c[1], self._span(meta))

    @v_args(meta=True)
    def cond_true(self, meta: Any, c: list[Any]) -> ls.Truth:
        return ls.Truth(True, self._span(meta))

    @v_args(meta=True)
    def cond_false(self, meta: Any, c: list[Any]) -> ls.Truth:
        return ls.Truth(False, self._span(meta))

    def loc_shared(self, c: list[Any]) -> ls.SharedLoc:
        return ls.SharedLoc(str(c[0]), self._tspan(c[0]))

    def loc_register(self, c: list[Any]) -> ls.RegisterLoc:
        thread, register = self._register(c[0])
        return ls.RegisterLoc(thread, register, self._tspan(c[0]))

    def value_number(self, c: list[Any]) -> int:
        return self._number(c[0])

    def value_address(self, c: list[Any]) -> str:
        return str(c[0])


def _assemble(parts: list[Any], text: str, file: str) -> ls.LitmusTest:
    """The test from its parts, checking what the grammar cannot: threads P0, P1 ... in order,
    at most one `locations` and one `filter`, exactly one final condition."""
    _, name, span = parts[0]
    init: tuple[Any, ...] = parts[1][1]
    threads: list[ls.Thread] = []
    locations: tuple[ls.Location, ...] | None = None
    filter_: ls.Cond | None = None
    condition: tuple[str, ls.Cond, Span] | None = None
    filter_seen = False
    for part in parts[2:]:
        kind = part[0]
        if kind == "thread":
            _, index, params, body, where = part
            if index != len(threads):
                raise error(where, f"thread P{index} out of order: expected P{len(threads)} (threads are numbered from 0, in order)")
            threads.append(ls.Thread(index, params, body, where))
        elif kind == "locations":
            if locations is not None:
                raise error(part[2], "more than one 'locations' line: expected at most one")
            locations = part[1]
        elif kind == "filter":
            if filter_seen:
                raise error(part[2], "more than one 'filter': expected at most one")
            filter_seen, filter_ = True, part[1]
        else:
            if condition is not None:
                raise error(part[3], "more than one final condition: expected exactly one exists, ~exists or forall")
            condition = (part[1], part[2], part[3])
    if condition is None:
        lines = text.rstrip().split("\n")
        end = Span(file, len(lines), len(lines[-1]) + 1, len(lines), len(lines[-1]) + 2)
        raise error(end, f"test '{printable(name)}' has no final condition: expected exists, ~exists or forall after the threads")
    quantifier, cond, _where = condition
    return ls.LitmusTest(file, name, init, tuple(threads), locations or (), filter_, quantifier, cond, span)


def litmus_paths(paths: list[str]) -> list[str]:
    """The given paths, each directory replaced by the .litmus files under it, sorted."""
    out: list[str] = []
    for p in paths:
        if Path(p).is_dir():
            out += sorted(str(f) for f in Path(p).rglob("*.litmus"))
        else:
            out.append(p)
    return out
