"""Syntax printed back as DSL text, for the mutation report (study/mutate.py).

Input: `syntax` nodes, or a span and the source cache. Output: one line of DSL text:
`expr_text` parenthesises only where C precedence needs it (and where gcc asks for it under a
bitwise operator), `stmt_text` prints a statement whole on one line, `head_text` a compound
statement's first line, `source_text` the source lines a span covers as written (comments
dropped).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType

from ..lang import syntax as s
from ..lang.diagnostics import SourceCache, Span

_PREC: Mapping[str, int] = MappingProxyType({
    "||": 2, "&&": 3, "|": 4, "^": 5, "&": 6, "==": 7, "!=": 7, "<": 8, "<=": 8, ">": 8, ">=": 8,
    "<<": 9, ">>": 9, "+": 10, "-": 10, "*": 11, "/": 11, "%": 11,
})


def type_text(t: s.TypeRef) -> str:
    if t.struct_name is None:
        return "word"
    return f"struct {t.struct_name} {_stars(t)}" if t.pointer else f"struct {t.struct_name}"


def _stars(t: s.TypeRef) -> str:
    return "**" if t.indirect else "*" if t.pointer else ""


def expr_text(e: s.Expr, prec: int = 0) -> str:
    """`e` in DSL syntax, parenthesised only where C precedence needs it."""
    if isinstance(e, s.Num):
        return str(e.value) if e.value < 256 else hex(e.value)
    if isinstance(e, s.Null):
        return "NULL"
    if isinstance(e, s.Str):
        return f'"{e.text}"'
    if isinstance(e, s.Name):
        return e.ident
    if isinstance(e, s.Unary):
        return _paren(f"{e.op}{expr_text(e.operand, 12)}", prec > 12)
    if isinstance(e, s.Binary):
        p = _PREC[e.op]
        left, right = expr_text(e.left, p), expr_text(e.right, p + 1)
        if e.op in ("&", "|", "^"):  # as gcc asks: parenthesise other operators under a bitwise one
            left = _paren(left, isinstance(e.left, s.Binary) and e.left.op != e.op and _PREC[e.left.op] > p)
            right = _paren(right, isinstance(e.right, s.Binary) and e.right.op != e.op and _PREC[e.right.op] > p)
        return _paren(f"{left} {e.op} {right}", prec > p)
    if isinstance(e, s.Ternary):
        text = f"{expr_text(e.cond, 2)} ? {expr_text(e.then)} : {expr_text(e.other, 1)}"
        return _paren(text, prec > 1)
    if isinstance(e, s.AddressOf):
        return _paren("&" + expr_text(e.operand, 12), prec > 12)
    if isinstance(e, s.Deref):
        return _paren("*" + expr_text(e.operand, 12), prec > 12)
    if isinstance(e, s.Cast):
        return _paren(f"({type_text(e.type)}){expr_text(e.operand, 12)}", prec > 12)
    if isinstance(e, s.FieldAccess):
        return f"{expr_text(e.base, 13)}.{e.name}"
    if isinstance(e, s.ArrowAccess):
        return f"{expr_text(e.base, 13)}->{e.name}"
    if isinstance(e, s.Index):
        return f"{expr_text(e.base, 13)}[{expr_text(e.index)}]"
    if isinstance(e, s.Call):
        return f"{e.func}({', '.join(expr_text(a) for a in e.args)})"
    raise AssertionError(f"unhandled expression {type(e).__name__}")


def _paren(text: str, needed: bool) -> str:
    return f"({text})" if needed else text


def _init_text(init: s.Expr | tuple[s.Expr, ...] | None) -> str:
    if init is None:
        return ""
    if isinstance(init, tuple):
        return " = { " + ", ".join(expr_text(e) for e in init) + " }"
    return f" = {expr_text(init)}"


def stmt_text(st: s.Stmt) -> str:
    """`st` in DSL syntax on one line."""
    if isinstance(st, s.LocalDecl):
        first = st.declarators[0].type
        base = "word" if first.struct_name is None else f"struct {first.struct_name}"
        parts = [_stars(d.type) + d.name + (f"[{expr_text(d.size)}]" if d.size is not None else "") + _init_text(d.init)
                 for d in st.declarators]
        return f"{base} {', '.join(parts)};"
    if isinstance(st, s.Assign):
        return f"{expr_text(st.target)} = {expr_text(st.value)};"
    if isinstance(st, s.ExprStmt):
        return f"{expr_text(st.expr)};"
    if isinstance(st, s.Block):
        return "{ " + " ".join(stmt_text(x) for x in st.body) + " }" if st.body else "{ }"
    if isinstance(st, s.If):
        text = f"if ({expr_text(st.cond)}) {stmt_text(st.then)}"
        return text + (f" else {stmt_text(st.other)}" if st.other is not None else "")
    if isinstance(st, s.While):
        return f"while ({expr_text(st.cond)}) {stmt_text(st.body)}"
    if isinstance(st, s.DoWhile):
        return f"do {stmt_text(st.body)} while ({expr_text(st.cond)});"
    if isinstance(st, s.For):
        init = stmt_text(st.init).rstrip(";") if st.init is not None else ""
        cond = expr_text(st.cond) if st.cond is not None else ""
        step = stmt_text(st.step).rstrip(";") if st.step is not None else ""
        return f"for ({init}; {cond}; {step}) {stmt_text(st.body)}"
    if isinstance(st, s.Break):
        return "break;"
    if isinstance(st, s.Continue):
        return "continue;"
    if isinstance(st, s.Return):
        return "return;" if st.value is None else f"return {expr_text(st.value)};"
    if isinstance(st, s.Atomic):
        return "atomic " + stmt_text(st.body)
    if isinstance(st, s.Empty):
        return ";"
    raise AssertionError(f"unhandled statement {type(st).__name__}")


def head_text(st: s.Stmt) -> str:
    """A compound statement's first line (`if (c) ...`); a simple statement whole."""
    if isinstance(st, s.If):
        return f"if ({expr_text(st.cond)}) ..."
    if isinstance(st, s.While):
        return f"while ({expr_text(st.cond)}) ..."
    if isinstance(st, s.DoWhile):
        return f"... while ({expr_text(st.cond)});"
    if isinstance(st, s.For):
        return stmt_text(replace(st, body=s.Empty())).removesuffix(" ;") + " ..."
    return stmt_text(st)


def source_text(sources: SourceCache, span: Span) -> str:
    """The source lines of `span` on one line, `//` comments dropped, spaces collapsed (a
    statement's span stops before its `;`, and models keep one statement per line)."""
    last = span.end_line if span.end_line >= span.line else span.line
    parts = []
    for n in range(span.line, last + 1):
        line = sources.line(span.file, n) or ""
        cut = line.find("//")
        parts.append(line[:cut] if cut >= 0 else line)
    return " ".join(" ".join(parts).split())
