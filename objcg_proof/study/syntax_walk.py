"""Walking and rebuilding the syntax, for the mutation operators (mutants.py).

Input: a `syntax.Module` (frozen nodes). Output: every statement sequence of its procedures and
threads as a `StmtList` that can rebuild the whole module with that sequence replaced
(`stmt_lists`; those of the `final` block: `final_stmt_lists`); expressions with one node replaced by identity (`subst_own`); and what a
statement or expression holds: the expressions a statement evaluates itself (`own_exprs`), its
calls and whether each runs only on some paths (`calls`), the names it reads (`names`), its
sub-statements (`sub_stmts`), a `continue` of its loop (`has_continue`), a jump out of it
(`escapes`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, replace
from typing import Any

from ..lang import syntax as s
from ..lang.diagnostics import Span

_EXPR_TYPES = (s.Num, s.Null, s.Str, s.Name, s.Unary, s.Binary, s.Ternary, s.AddressOf, s.Deref, s.Cast,
               s.FieldAccess, s.ArrowAccess, s.Index, s.Call)


Rebuild = Callable[[tuple[s.Stmt, ...]], s.Module]


@dataclass(frozen=True)
class StmtList:
    """A sequence of statements (a block's body, or a lone branch / loop body) and how to get
    the whole module back with that sequence replaced."""

    stmts: tuple[s.Stmt, ...]
    rebuild: Rebuild
    in_atomic: bool


def _as_stmt(stmts: tuple[s.Stmt, ...], span: Span) -> s.Stmt:
    if not stmts:
        return s.Empty(span)
    if len(stmts) == 1:
        return stmts[0]
    return s.Block(stmts, span)


def stmt_lists(module: s.Module) -> list[StmtList]:
    out: list[StmtList] = []
    for di, decl in enumerate(module.decls):
        if not isinstance(decl, (s.ProcDecl, s.ThreadDecl)):
            continue

        def set_body(body: s.Stmt, di: int = di, decl: s.ProcDecl | s.ThreadDecl = decl) -> s.Module:
            assert isinstance(body, s.Block)
            decls = module.decls[:di] + (replace(decl, body=body),) + module.decls[di + 1:]
            return replace(module, decls=decls)

        _walk_block(decl.body, set_body, False, out)
    return out


def final_stmt_lists(module: s.Module) -> list[StmtList]:
    """The statement sequences of the model's `final` block (lang/final.py), nested blocks too."""
    out: list[StmtList] = []
    for di, decl in enumerate(module.decls):
        if isinstance(decl, s.FinalDecl):
            def set_body(body: s.Stmt, di: int = di, decl: s.FinalDecl = decl) -> s.Module:
                assert isinstance(body, s.Block)
                return replace(module, decls=module.decls[:di] + (replace(decl, body=body),) + module.decls[di + 1:])

            _walk_block(decl.body, set_body, False, out)
    return out


def _walk_block(block: s.Block, put: Callable[[s.Stmt], s.Module], in_atomic: bool, out: list[StmtList]) -> None:
    out.append(StmtList(block.body, lambda stmts: put(replace(block, body=stmts)), in_atomic))
    for i, st in enumerate(block.body):
        def put_child(new: s.Stmt, i: int = i) -> s.Module:
            return put(replace(block, body=block.body[:i] + (new,) + block.body[i + 1:]))

        _walk_stmt(st, put_child, in_atomic, out)


def _walk_stmt(st: s.Stmt, put: Callable[[s.Stmt], s.Module], in_atomic: bool, out: list[StmtList]) -> None:
    if isinstance(st, s.Block):
        _walk_block(st, put, in_atomic, out)
    elif isinstance(st, s.Atomic):
        atomic = st

        def put_body(b: s.Stmt) -> s.Module:
            assert isinstance(b, s.Block)
            return put(replace(atomic, body=b))

        _walk_block(st.body, put_body, True, out)
    elif isinstance(st, s.If):
        _walk_slot(st.then, lambda x: put(replace(st, then=x)), in_atomic, out)
        if st.other is not None:
            _walk_slot(st.other, lambda x: put(replace(st, other=x)), in_atomic, out)
    elif isinstance(st, (s.While, s.DoWhile, s.For)):
        _walk_slot(st.body, lambda x: put(replace(st, body=x)), in_atomic, out)


def _walk_slot(sub: s.Stmt, put: Callable[[s.Stmt], s.Module], in_atomic: bool, out: list[StmtList]) -> None:
    if isinstance(sub, s.Block):
        _walk_block(sub, put, in_atomic, out)
        return
    out.append(StmtList((sub,), lambda stmts: put(_as_stmt(stmts, sub.span)), in_atomic))
    _walk_stmt(sub, put, in_atomic, out)


def children(e: s.Expr) -> list[s.Expr]:
    out: list[s.Expr] = []
    for f in fields(e):
        v = getattr(e, f.name)
        if isinstance(v, _EXPR_TYPES):
            out.append(v)
        elif isinstance(v, tuple):
            out.extend(x for x in v if isinstance(x, _EXPR_TYPES))
    return out


def _subst_expr(e: s.Expr, old: s.Expr, new: s.Expr) -> s.Expr:
    """`e` with the node `old` (by identity) replaced by `new`."""
    if e is old:
        return new
    changed: dict[str, Any] = {}
    for f in fields(e):
        v = getattr(e, f.name)
        if isinstance(v, _EXPR_TYPES):
            nv = _subst_expr(v, old, new)
            if nv is not v:
                changed[f.name] = nv
        elif isinstance(v, tuple) and v and all(isinstance(x, _EXPR_TYPES) for x in v):
            nt = tuple(_subst_expr(x, old, new) for x in v)
            if any(a is not b for a, b in zip(nt, v)):
                changed[f.name] = nt
    return replace(e, **changed) if changed else e


def init_exprs(d: s.Declarator) -> list[s.Expr]:
    """The expressions of a local's initialiser (each element's, for a local array)."""
    if d.init is None:
        return []
    return list(d.init) if isinstance(d.init, tuple) else [d.init]


def own_exprs(st: s.Stmt) -> list[s.Expr]:
    """The expressions a statement evaluates itself (not those of its sub-statements), in order."""
    if isinstance(st, s.LocalDecl):
        return [e for d in st.declarators for e in init_exprs(d)]
    if isinstance(st, s.Assign):
        return [st.value, st.target]
    if isinstance(st, s.ExprStmt):
        return [st.expr]
    if isinstance(st, (s.If, s.While, s.DoWhile)):
        return [st.cond]
    if isinstance(st, s.For):
        return [st.cond] if st.cond is not None else []
    if isinstance(st, s.Return):
        return [st.value] if st.value is not None else []
    return []


def subst_own(st: s.Stmt, old: s.Expr, new: s.Expr) -> s.Stmt:
    def sub(e: s.Expr) -> s.Expr:
        return _subst_expr(e, old, new)

    if isinstance(st, s.LocalDecl):
        return replace(st, declarators=tuple(
            d if d.init is None else replace(d, init=tuple(map(sub, d.init)) if isinstance(d.init, tuple) else sub(d.init))
            for d in st.declarators))
    if isinstance(st, s.Assign):
        return replace(st, target=sub(st.target), value=sub(st.value))
    if isinstance(st, s.ExprStmt):
        return replace(st, expr=sub(st.expr))
    if isinstance(st, (s.If, s.While, s.DoWhile)):
        return replace(st, cond=sub(st.cond))
    if isinstance(st, s.For) and st.cond is not None:
        return replace(st, cond=sub(st.cond))
    if isinstance(st, s.Return) and st.value is not None:
        return replace(st, value=sub(st.value))
    return st


def calls(e: s.Expr, conditional: bool = False) -> Iterator[tuple[s.Call, bool]]:
    """Every call in `e`, and whether it is evaluated only on some paths through `e`."""
    if isinstance(e, s.Call):
        yield e, conditional
        for a in e.args:
            yield from calls(a, conditional)
    elif isinstance(e, s.Binary) and e.op in ("&&", "||"):
        yield from calls(e.left, conditional)
        yield from calls(e.right, True)
    elif isinstance(e, s.Ternary):
        yield from calls(e.cond, conditional)
        yield from calls(e.then, True)
        yield from calls(e.other, True)
    else:
        for c in children(e):
            yield from calls(c, conditional)


def names(e: s.Expr) -> set[str]:
    if isinstance(e, s.Name):
        return {e.ident}
    out: set[str] = set()
    for c in children(e):
        out |= names(c)
    return out


def sub_stmts(st: s.Stmt) -> list[s.Stmt]:
    if isinstance(st, s.Block):
        return list(st.body)
    if isinstance(st, s.Atomic):
        return [st.body]
    if isinstance(st, s.If):
        return [st.then] + ([st.other] if st.other is not None else [])
    if isinstance(st, (s.While, s.DoWhile)):
        return [st.body]
    if isinstance(st, s.For):
        return [x for x in (st.init, st.step, st.body) if x is not None]
    return []


def has_continue(st: s.Stmt) -> bool:
    """Does `st` contain a `continue` of the loop it is the body of?"""
    if isinstance(st, s.Continue):
        return True
    if isinstance(st, (s.While, s.DoWhile, s.For)):
        return False
    return any(has_continue(x) for x in sub_stmts(st))


def escapes(st: s.Stmt, in_loop: bool = False) -> bool:
    """Does `st` contain a `return`, or a `break` / `continue` that leaves it?"""
    if isinstance(st, s.Return):
        return True
    if isinstance(st, (s.Break, s.Continue)):
        return not in_loop
    if isinstance(st, (s.While, s.DoWhile, s.For)):
        return any(escapes(x, True) for x in sub_stmts(st))
    return any(escapes(x, in_loop) for x in sub_stmts(st))

