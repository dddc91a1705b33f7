"""Model adequacy by mutation: `objcg-prove mutate MODEL`.

Input: one model file (with the files it includes), `--bound K`, `-D NAME=VALUE`, the operators
to apply (`--only OPERATOR`, repeatable), `--limit N` (only the first N mutants, in source
order), `--all-files` (also mutate statements of included files such as the harness),
`--timeout S` (per solver query) and `--json`.

Each mutant is a copy of the model's `syntax.Module` (parser.load_model) in which one statement
is changed, built with `dataclasses.replace` on the frozen nodes; the span of the changed
statement (or call) names it. A mutant is verified like the original: resolve -> unroll ->
verify.verify_program. It is
  KILLED    when some property's verdict differs from the original's (typically: proved ->
            violated; any other change, e.g. proved -> bounded, counts too),
  SURVIVED  when every verdict is the original's. Each survivor is then run on the reference
            interpreter (NOTE(equivalent)): it *ends as the original* when it reaches exactly the
            original's final states and violates exactly its properties, over every execution
            (no property of the final state can tell them apart); otherwise the report names the
            locations whose final values differ (a property the model may be missing),
  INVALID   when the mutated model does not resolve or unroll (not counted in the score).

Output: a header with the original's verdicts, one line per mutant (number, verdict, operator,
file:line, original => mutated text, the verdicts that changed, time), then
"N mutants, K killed, S survived, I invalid: score X%" with score = killed / (killed + survived),
and, when some survived, how many survivors end as the original and the score without them.
With --json: {"model", "bound", "original", "mutants": [record...], "summary"}.
Exit status: 0 every valid mutant killed, 1 some mutant survived, 2 bad input or usage.

Operators. By default only statements written in the model file itself (the design) are
mutated, never those of included files (the harness states the properties):

  drop-put     delete a `put(p);` or a `kill(p);` (a reference is never dropped).
  drop-get     delete a `get(p);` (or a `tryget(p);` whose value is unused). A `tryget(p)` or
               `tryget_live(p)` inside an expression (a condition) becomes `refcount(p) != 0`:
               the branch is taken exactly when the original would have succeeded (the object
               is alive), but no reference is taken. That isolates the one fault "the
               reference is not acquired"; replacing the call by `true` would also drop the
               liveness test, i.e. inject a second fault. (`tryget_live` also fails on a killed
               object; the DSL cannot read the kill flag, so that mutant accepts killed objects
               too.) Both read the refcount once, so the atomicity of the statement is kept.
  non-atomic   an atomic read-modify-write becomes the plain read and write the C would be
               without the atomic, as two statements (two steps another thread can come
               between): `old = xchg(&x, v);` -> `old = x; x = v;`;
               `cmpxchg(&x, o, n)` -> `mut_v = x; if (mut_v == o) x = n;` (value `mut_v`);
               `try_cmpxchg(&x, &o, n)` -> `mut_ok = o; o = x; mut_ok = o == mut_ok;
               if (mut_ok) x = n;` (value `mut_ok`; on failure `o` holds the value read, as
               with the atomic); `set_bit(nr, &x)` -> `mut_v = x; x = mut_v | (1 << nr);`;
               `clear_bit` likewise with `& ~(1 << nr)`; also test_and_set_bit,
               test_and_clear_bit, atomic_inc/dec/add/sub, atomic_dec_and_test,
               atomic_inc_not_zero. The extra statements go before the statement; for a
               `while` / `do ... while` condition at the end of each iteration (and, for
               `while`, before the loop), with the temporaries declared before the loop.
               Not generated (equivalent by construction, or no place for the read): an `xchg`
               whose value is discarded (it is a store either way), an access inside
               `atomic { }` (one step either way), a call evaluated only conditionally (right of
               `&&` / `||`, a `?:` branch), a `for` condition, a loop whose body has a
               `continue`.
  swap         swap two adjacent statements of one block that each make a shared (non-ghost)
               access: the reordering a compiler or CPU may do without a barrier. Pairs that
               depend on each other through a local (one writes a local the other reads or
               writes), that contain a `return` / escaping `break` / `continue`, that are a
               property check (`assert`, `lost_update`), or that are inside `atomic { }` are
               not swapped: no compiler or CPU reorders those.
  drop-assume  delete an `assume(c);` (the executions it excluded are explored).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields, replace
from types import MappingProxyType
from typing import Any, TextIO

from ..cli.options import CommandParser, Exit, UsageError, parse_bound, parse_defines, parse_timeout
from ..lang import ir
from ..lang import syntax as s
from ..lang.diagnostics import SourceCache, Span, UserError, processing
from ..lang.parser import load_model
from ..lang.resolve import resolve
from ..lang.values import render, render_refcount
from ..oracles.interpret import Exploration, explore
from ..prove.solver import SolverOptions
from ..prove.unroll import unroll
from ..prove.verdict import ModelResult
from ..prove.verify import VerifyOptions, verify_program

OPERATORS: tuple[str, ...] = ("drop-put", "drop-get", "non-atomic", "swap", "drop-assume")
KILLED, SURVIVED, INVALID = "killed", "survived", "invalid"

EXIT_ALL_KILLED, EXIT_SURVIVED, EXIT_USAGE = 0, 1, 2

# statement calls deleted by the drop operators
_DROPPED_CALLS: Mapping[str, str] = MappingProxyType({
    "put": "drop-put", "kill": "drop-put", "get": "drop-get", "tryget": "drop-get",
    "tryget_live": "drop-get", "assume": "drop-assume",
})
# atomic read-modify-writes and the argument that is their location (`&x`)
_RMW_LOCATION: Mapping[str, int] = MappingProxyType({
    "xchg": 0, "cmpxchg": 0, "try_cmpxchg": 0, "set_bit": 1, "clear_bit": 1,
    "test_and_set_bit": 1, "test_and_clear_bit": 1, "atomic_inc": 0, "atomic_dec": 0,
    "atomic_add": 1, "atomic_sub": 1, "atomic_dec_and_test": 0, "atomic_inc_not_zero": 0,
})
# builtins that access a location given as their argument (index of that argument)
_LOCATION_BUILTINS: Mapping[str, int] = MappingProxyType({
    **_RMW_LOCATION, "READ_ONCE": 0, "rcu_dereference": 0, "atomic_read": 0, "WRITE_ONCE": 0,
    "atomic_set": 0, "spin_lock": 0, "spin_unlock": 0,
})
_REF_BUILTINS = frozenset({"get", "put", "kill", "tryget", "tryget_live", "refcount"})
_CHECKS = frozenset({"assert", "lost_update"})
_EXPR_TYPES = (s.Num, s.Null, s.Str, s.Name, s.Unary, s.Binary, s.Ternary, s.AddressOf, s.Cast,
               s.FieldAccess, s.ArrowAccess, s.Index, s.Call)
_WORD = s.TypeRef(None, False)


# ---- results --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Mutant:
    """One changed model: `module` differs from the original at the statement at `span`."""

    operator: str
    span: Span
    original: str          # the original statement(s), as written (comments dropped)
    mutated: str           # what replaces them, printed from the syntax
    module: s.Module


@dataclass(frozen=True)
class Change:
    property: str
    original: str          # status in the original ("absent" if it has no such property)
    mutant: str


@dataclass(frozen=True)
class MutantResult:
    mutant: Mutant
    outcome: str           # killed / survived / invalid
    changes: tuple[Change, ...]
    error: str             # for invalid: the first diagnostic
    time_s: float
    equivalent: bool | None = None   # for survived: ends as the original (NOTE(equivalent))
    evidence: str = ""               # for survived: the interpreter's comparison, in words


@dataclass(frozen=True)
class Summary:
    mutants: int
    killed: int
    survived: int
    invalid: int
    time_s: float
    equivalent: int = 0    # survivors that end as the original (NOTE(equivalent))

    @property
    def score(self) -> float | None:
        valid = self.killed + self.survived
        return 100.0 * self.killed / valid if valid else None

    @property
    def score_non_equivalent(self) -> float | None:
        """Killed among the mutants that do not end as the original."""
        valid = self.killed + self.survived - self.equivalent
        return 100.0 * self.killed / valid if valid else None

    def text(self) -> str:
        score = "n/a" if self.score is None else f"{self.score:.1f}%"
        line = (f"{self.mutants} mutants, {self.killed} killed, {self.survived} survived, "
                f"{self.invalid} invalid: score {score}")
        if self.survived:
            rest = self.score_non_equivalent
            line += (f"; {self.equivalent} of the {self.survived} survivors end exactly as the original: "
                     f"{'n/a' if rest is None else f'{rest:.1f}%'} of the other mutants killed")
        return line


def summarize(results: list[MutantResult], time_s: float) -> Summary:
    count = {k: sum(1 for r in results if r.outcome == k) for k in (KILLED, SURVIVED, INVALID)}
    equivalent = sum(1 for r in results if r.outcome == SURVIVED and r.equivalent)
    return Summary(len(results), count[KILLED], count[SURVIVED], count[INVALID], time_s, equivalent)


# ---- printing syntax back as DSL text -------------------------------------------------------
_PREC: Mapping[str, int] = MappingProxyType({
    "||": 2, "&&": 3, "|": 4, "^": 5, "&": 6, "==": 7, "!=": 7, "<": 8, "<=": 8, ">": 8, ">=": 8,
    "<<": 9, ">>": 9, "+": 10, "-": 10, "*": 11, "/": 11, "%": 11,
})


def type_text(t: s.TypeRef) -> str:
    if t.struct_name is None:
        return "word"
    return f"struct {t.struct_name} *" if t.pointer else f"struct {t.struct_name}"


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


def stmt_text(st: s.Stmt) -> str:
    """`st` in DSL syntax on one line."""
    if isinstance(st, s.LocalDecl):
        first = st.declarators[0].type
        base = "word" if first.struct_name is None else f"struct {first.struct_name}"
        parts = [("*" if d.type.pointer else "") + d.name + (f" = {expr_text(d.init)}" if d.init is not None else "")
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


def _head_text(st: s.Stmt) -> str:
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


# ---- walking and rebuilding the syntax ------------------------------------------------------
Rebuild = Callable[[tuple[s.Stmt, ...]], s.Module]


@dataclass(frozen=True)
class _StmtList:
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


def _stmt_lists(module: s.Module) -> list[_StmtList]:
    out: list[_StmtList] = []
    for di, decl in enumerate(module.decls):
        if not isinstance(decl, (s.ProcDecl, s.ThreadDecl)):
            continue

        def set_body(body: s.Stmt, di: int = di, decl: s.ProcDecl | s.ThreadDecl = decl) -> s.Module:
            assert isinstance(body, s.Block)
            decls = module.decls[:di] + (replace(decl, body=body),) + module.decls[di + 1:]
            return replace(module, decls=decls)

        _walk_block(decl.body, set_body, False, out)
    return out


def _walk_block(block: s.Block, put: Callable[[s.Stmt], s.Module], in_atomic: bool, out: list[_StmtList]) -> None:
    out.append(_StmtList(block.body, lambda stmts: put(replace(block, body=stmts)), in_atomic))
    for i, st in enumerate(block.body):
        def put_child(new: s.Stmt, i: int = i) -> s.Module:
            return put(replace(block, body=block.body[:i] + (new,) + block.body[i + 1:]))

        _walk_stmt(st, put_child, in_atomic, out)


def _walk_stmt(st: s.Stmt, put: Callable[[s.Stmt], s.Module], in_atomic: bool, out: list[_StmtList]) -> None:
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


def _walk_slot(sub: s.Stmt, put: Callable[[s.Stmt], s.Module], in_atomic: bool, out: list[_StmtList]) -> None:
    if isinstance(sub, s.Block):
        _walk_block(sub, put, in_atomic, out)
        return
    out.append(_StmtList((sub,), lambda stmts: put(_as_stmt(stmts, sub.span)), in_atomic))
    _walk_stmt(sub, put, in_atomic, out)


def _children(e: s.Expr) -> list[s.Expr]:
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


def _own_exprs(st: s.Stmt) -> list[s.Expr]:
    """The expressions a statement evaluates itself (not those of its sub-statements), in order."""
    if isinstance(st, s.LocalDecl):
        return [d.init for d in st.declarators if d.init is not None]
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


def _subst_own(st: s.Stmt, old: s.Expr, new: s.Expr) -> s.Stmt:
    def sub(e: s.Expr) -> s.Expr:
        return _subst_expr(e, old, new)

    if isinstance(st, s.LocalDecl):
        return replace(st, declarators=tuple(replace(d, init=sub(d.init)) if d.init is not None else d
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


def _calls(e: s.Expr, conditional: bool = False) -> Iterator[tuple[s.Call, bool]]:
    """Every call in `e`, and whether it is evaluated only on some paths through `e`."""
    if isinstance(e, s.Call):
        yield e, conditional
        for a in e.args:
            yield from _calls(a, conditional)
    elif isinstance(e, s.Binary) and e.op in ("&&", "||"):
        yield from _calls(e.left, conditional)
        yield from _calls(e.right, True)
    elif isinstance(e, s.Ternary):
        yield from _calls(e.cond, conditional)
        yield from _calls(e.then, True)
        yield from _calls(e.other, True)
    else:
        for c in _children(e):
            yield from _calls(c, conditional)


def _names(e: s.Expr) -> set[str]:
    if isinstance(e, s.Name):
        return {e.ident}
    out: set[str] = set()
    for c in _children(e):
        out |= _names(c)
    return out


def _sub_stmts(st: s.Stmt) -> list[s.Stmt]:
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


def _has_continue(st: s.Stmt) -> bool:
    """Does `st` contain a `continue` of the loop it is the body of?"""
    if isinstance(st, s.Continue):
        return True
    if isinstance(st, (s.While, s.DoWhile, s.For)):
        return False
    return any(_has_continue(x) for x in _sub_stmts(st))


def _escapes(st: s.Stmt, in_loop: bool = False) -> bool:
    """Does `st` contain a `return`, or a `break` / `continue` that leaves it?"""
    if isinstance(st, s.Return):
        return True
    if isinstance(st, (s.Break, s.Continue)):
        return not in_loop
    if isinstance(st, (s.While, s.DoWhile, s.For)):
        return any(_escapes(x, True) for x in _sub_stmts(st))
    return any(_escapes(x, in_loop) for x in _sub_stmts(st))


# ---- what the declarations say: shared names, fields, procedures ----------------------------
class _Info:
    """Facts about the original module the operators need (built once per run)."""

    def __init__(self, module: s.Module) -> None:
        self.shared: dict[str, tuple[s.TypeRef, bool]] = {}
        self.objects: dict[str, str] = {}
        self.structs: dict[str, s.StructDecl] = {}
        self.procs: dict[str, s.ProcDecl] = {}
        self.globals: set[str] = {"current", "NULL"}
        self.used: set[str] = set()
        self._proc_access: dict[str, bool] = {}
        for d in module.decls:
            if isinstance(d, s.SharedDecl):
                self.shared[d.name] = (d.type, d.ghost)
            elif isinstance(d, s.ObjectDecl):
                self.objects[d.name] = d.struct_name
            elif isinstance(d, s.StructDecl):
                self.structs[d.name] = d
            elif isinstance(d, s.ProcDecl):
                self.procs[d.name] = d
            name = getattr(d, "name", None)
            if isinstance(name, str):
                self.globals.add(name)
        self.used |= self.globals
        for d in module.decls:
            if isinstance(d, s.ProcDecl):
                self.used |= {p.name for p in d.params}
            if isinstance(d, (s.ProcDecl, s.ThreadDecl)):
                self._collect_used(d.body)

    def _collect_used(self, st: s.Stmt) -> None:
        if isinstance(st, s.LocalDecl):
            self.used |= {d.name for d in st.declarators}
        for e in _own_exprs(st):
            self.used |= _names(e)
        for x in _sub_stmts(st):
            self._collect_used(x)

    def fresh(self, base: str) -> str:
        name, n = base, 1
        while name in self.used:
            name, n = f"{base}{n}", n + 1
        return name

    def location_type(self, loc: s.Expr) -> s.TypeRef:
        """The declared type of a shared location, when the declarations tell it."""
        if isinstance(loc, s.Index):
            loc = loc.base
        if isinstance(loc, s.Name) and loc.ident in self.shared:
            return self.shared[loc.ident][0]
        if isinstance(loc, (s.FieldAccess, s.ArrowAccess)):
            struct = self._object_struct(loc.base) if isinstance(loc, s.FieldAccess) else None
            candidates = [self.structs[struct]] if struct in self.structs else list(self.structs.values())
            types = {f.type for st in candidates for f in st.fields if f.name == loc.name}
            if len(types) == 1:
                return types.pop()
        return _WORD

    def _object_struct(self, e: s.Expr) -> str | None:
        if isinstance(e, s.Index):
            e = e.base
        return self.objects.get(e.ident) if isinstance(e, s.Name) else None

    def _field_is_shared(self, base: s.Expr, name: str, arrow: bool) -> bool:
        struct = None if arrow else self._object_struct(base)
        candidates = [self.structs[struct]] if struct in self.structs else list(self.structs.values())
        found = [f for st in candidates for f in st.fields if f.name == name]
        return not found or any(not f.const for f in found)

    def _is_ghost_location(self, loc: s.Expr) -> bool:
        if isinstance(loc, s.Index):
            loc = loc.base
        return isinstance(loc, s.Name) and loc.ident in self.shared and self.shared[loc.ident][1]

    def expr_accesses(self, e: s.Expr) -> bool:
        """Does evaluating `e` make a shared (non-ghost) access? (the atomicity rule's count)"""
        if isinstance(e, s.Name):
            return e.ident in self.shared and not self.shared[e.ident][1]
        if isinstance(e, s.FieldAccess):
            index = e.base.index if isinstance(e.base, s.Index) else None
            return self._field_is_shared(e.base, e.name, False) or (index is not None and self.expr_accesses(index))
        if isinstance(e, s.ArrowAccess):
            return self._field_is_shared(e.base, e.name, True) or self.expr_accesses(e.base)
        if isinstance(e, s.Index):
            base_shared = isinstance(e.base, s.Name) and e.base.ident in self.shared and not self.shared[e.base.ident][1]
            return base_shared or self.expr_accesses(e.index)
        if isinstance(e, s.AddressOf):
            inner = e.operand.base if isinstance(e.operand, (s.FieldAccess, s.ArrowAccess)) else e.operand
            if isinstance(inner, s.Index):
                return self.expr_accesses(inner.index)
            return isinstance(e.operand, s.ArrowAccess) and self.expr_accesses(e.operand.base)
        if isinstance(e, s.Call):
            args = any(self.expr_accesses(a) for a in e.args)
            if e.func in self.procs:
                return args or self.proc_accesses(e.func)
            if e.func in _REF_BUILTINS:
                return True
            if e.func in _LOCATION_BUILTINS and len(e.args) > _LOCATION_BUILTINS[e.func]:
                loc = e.args[_LOCATION_BUILTINS[e.func]]
                loc = loc.operand if isinstance(loc, s.AddressOf) else loc
                return args or not self._is_ghost_location(loc)
            return args
        return any(self.expr_accesses(c) for c in _children(e))

    def stmt_accesses(self, st: s.Stmt) -> bool:
        return (any(self.expr_accesses(e) for e in _own_exprs(st))
                or any(self.stmt_accesses(x) for x in _sub_stmts(st)))

    def proc_accesses(self, name: str) -> bool:
        if name not in self._proc_access:
            self._proc_access[name] = False  # a recursive call adds nothing (and is an error anyway)
            self._proc_access[name] = self.stmt_accesses(self.procs[name].body)
        return self._proc_access[name]

    def locals_read_written(self, st: s.Stmt) -> tuple[set[str], set[str]]:
        """The local variables `st` reads and those it writes (or declares)."""
        reads: set[str] = set()
        writes: set[str] = set()
        if isinstance(st, s.LocalDecl):
            writes |= {d.name for d in st.declarators}
        if isinstance(st, s.Assign) and isinstance(st.target, s.Name):
            writes.add(st.target.ident)
            reads |= _names(st.value)
        else:
            for e in _own_exprs(st):
                reads |= _names(e)
        for e in _own_exprs(st):
            for call, _ in _calls(e):
                if call.func == "try_cmpxchg" and len(call.args) == 3:
                    writes |= _names(call.args[1])
        for x in _sub_stmts(st):
            r, w = self.locals_read_written(x)
            reads |= r
            writes |= w
        return reads - self.globals, writes - self.globals


# ---- the operators --------------------------------------------------------------------------
@dataclass(frozen=True)
class _Edit:
    """A statement-level change: the statement at `span` becomes `stmts`."""

    operator: str
    span: Span
    original: str
    mutated: str
    stmts: tuple[s.Stmt, ...]


def _drop(st: s.Stmt, sources: SourceCache) -> list[_Edit]:
    if isinstance(st, s.ExprStmt) and isinstance(st.expr, s.Call) and st.expr.func in _DROPPED_CALLS:
        return [_Edit(_DROPPED_CALLS[st.expr.func], st.span, source_text(sources, st.span), "(deleted)",
                      (s.Empty(st.span),))]
    return []


def _original_of(st: s.Stmt, call: s.Call, sources: SourceCache) -> str:
    if isinstance(st, (s.If, s.While, s.DoWhile, s.For)):
        return source_text(sources, Span(call.span.file, call.span.line, 0))
    return source_text(sources, st.span)


def _tryget_drops(st: s.Stmt, sources: SourceCache) -> list[_Edit]:
    if isinstance(st, s.ExprStmt) and isinstance(st.expr, s.Call) and st.expr.func in _DROPPED_CALLS:
        return []  # a whole-statement tryget(p); is deleted by _drop
    out = []
    for e in _own_exprs(st):
        for call, _ in _calls(e):
            if call.func in ("tryget", "tryget_live") and len(call.args) == 1:
                sp = call.span
                new = s.Binary("!=", s.Call("refcount", call.args, sp), s.Num(0, sp), sp)
                mutated = _subst_own(st, call, new)
                out.append(_Edit("drop-get", sp, _original_of(st, call, sources), _head_text(mutated), (mutated,)))
    return out


@dataclass(frozen=True)
class _Split:
    """An atomic read-modify-write as plain statements: `pre` does the read and the write (its
    first statement declares the temporary, if any); `value` replaces the call (None: unused)."""

    pre: tuple[s.Stmt, ...]
    value: s.Expr | None


def _split_rmw(call: s.Call, info: _Info, into: s.Name | None = None) -> _Split | None:
    f, args, sp = call.func, call.args, call.span
    li = _RMW_LOCATION[f]
    if len(args) <= li or not isinstance(args[li], s.AddressOf):
        return None
    loc = args[li].operand  # type: ignore[union-attr]

    def num(v: int) -> s.Num:
        return s.Num(v, sp)

    def assign(target: s.Expr, value: s.Expr) -> s.Assign:
        return s.Assign(target, value, sp)

    def binary(op: str, left: s.Expr, right: s.Expr) -> s.Binary:
        return s.Binary(op, left, right, sp)

    def when(cond: s.Expr, then: s.Stmt) -> s.If:
        return s.If(cond, then, None, sp)

    def declare(name: str, type_: s.TypeRef, init: s.Expr) -> s.LocalDecl:
        return s.LocalDecl((s.Declarator(name, type_, init, sp),), sp)

    if f == "try_cmpxchg":
        expected = args[1]
        if not (isinstance(expected, s.AddressOf) and isinstance(expected.operand, s.Name)):
            return None
        o, ok = expected.operand, s.Name(info.fresh("mut_ok"), sp)
        return _Split((declare(ok.ident, _WORD, o), assign(o, loc), assign(ok, binary("==", o, ok)),
                       when(ok, assign(loc, args[2]))), ok)
    if into is not None:
        v: s.Name = into
        read: s.Stmt = assign(into, loc)
    else:
        v = s.Name(info.fresh("mut_v"), sp)
        read = declare(v.ident, info.location_type(loc), loc)
    if f == "xchg":
        return _Split((read, assign(loc, args[1])), v)
    if f == "cmpxchg":
        return _Split((read, when(binary("==", v, args[1]), assign(loc, args[2]))), v)
    if f in ("set_bit", "clear_bit", "test_and_set_bit", "test_and_clear_bit"):
        mask = binary("<<", num(1), args[0])
        new = binary("|", v, mask) if f.endswith("set_bit") else binary("&", v, s.Unary("~", mask, sp))
        value = binary("&", binary(">>", v, args[0]), num(1)) if f.startswith("test_and") else None
        return _Split((read, assign(loc, new)), value)
    if f in ("atomic_inc", "atomic_dec", "atomic_add", "atomic_sub"):
        amount = num(1) if f in ("atomic_inc", "atomic_dec") else args[0]
        op = "+" if f in ("atomic_inc", "atomic_add") else "-"
        return _Split((read, assign(loc, binary(op, v, amount))), None)
    if f == "atomic_dec_and_test":
        return _Split((read, assign(loc, binary("-", v, num(1)))), binary("==", v, num(1)))
    if f == "atomic_inc_not_zero":
        nonzero = binary("!=", v, num(0))
        return _Split((read, when(nonzero, assign(loc, binary("+", v, num(1))))), nonzero)
    return None


def _hoist(pre: tuple[s.Stmt, ...]) -> tuple[tuple[s.Stmt, ...], tuple[s.Stmt, ...]]:
    """Split `pre` into declarations of its temporaries (to go before a loop) and the
    statements to run at each evaluation of the condition (declarations become assignments)."""
    decls: list[s.Stmt] = []
    body: list[s.Stmt] = []
    for st in pre:
        if isinstance(st, s.LocalDecl):
            for d in st.declarators:
                decls.append(s.LocalDecl((replace(d, init=None),), st.span))
                if d.init is not None:
                    body.append(s.Assign(s.Name(d.name, d.span), d.init, st.span))
        else:
            body.append(st)
    return tuple(decls), tuple(body)


def _texts(stmts: tuple[s.Stmt, ...]) -> str:
    return " ".join(stmt_text(x) for x in stmts)


def _non_atomic(st: s.Stmt, info: _Info, sources: SourceCache) -> list[_Edit]:
    out = []
    for e in _own_exprs(st):
        for call, conditional in _calls(e):
            if call.func not in _RMW_LOCATION or conditional:
                continue
            edit = _non_atomic_call(st, call, info, sources)
            if edit is not None:
                out.append(edit)
    return out


def _non_atomic_call(st: s.Stmt, call: s.Call, info: _Info, sources: SourceCache) -> _Edit | None:
    original = _original_of(st, call, sources)

    def edit(stmts: tuple[s.Stmt, ...], mutated: str | None = None) -> _Edit:
        return _Edit("non-atomic", call.span, original, mutated if mutated is not None else _texts(stmts), stmts)

    direct = call.func in ("xchg", "cmpxchg")
    arg_names = set().union(*(_names(a) for a in call.args))
    # `t = xchg(&x, v);` with t a local: `t = x; x = v;`
    if (direct and isinstance(st, s.Assign) and st.value is call and isinstance(st.target, s.Name)
            and st.target.ident not in info.globals and st.target.ident not in arg_names):
        split = _split_rmw(call, info, into=st.target)
        return edit(split.pre) if split is not None else None
    # `T t = xchg(&x, v), ...;`: `T t = x; x = v; T ...;`
    if isinstance(st, s.LocalDecl):
        k = next(i for i, d in enumerate(st.declarators) if d.init is not None and any(c is call for c, _ in _calls(d.init)))
        d = st.declarators[k]
        head = (s.LocalDecl(st.declarators[:k], st.span),) if k else ()
        if direct and d.init is call and d.name not in arg_names:
            split = _split_rmw(call, info, into=s.Name(d.name, d.span))
            if split is None:
                return None
            first = s.LocalDecl((replace(d, init=split.pre[0].value),), st.span)  # type: ignore[union-attr]
            tail = (s.LocalDecl(st.declarators[k + 1:], st.span),) if k + 1 < len(st.declarators) else ()
            return edit(head + (first,) + split.pre[1:] + tail)
        split = _split_rmw(call, info)
        if split is None or split.value is None:
            return None
        rest = _subst_own(s.LocalDecl(st.declarators[k:], st.span), call, split.value)
        return edit(head + split.pre + (rest,))
    split = _split_rmw(call, info)
    if split is None:
        return None
    if isinstance(st, s.ExprStmt) and st.expr is call:
        if call.func == "xchg":
            return None  # a discarded xchg is a store: its plain version is the same store
        return edit(split.pre)
    if split.value is None:
        return None
    new = _subst_own(st, call, split.value)
    if isinstance(st, (s.LocalDecl, s.Assign, s.ExprStmt, s.Return, s.If)):
        return edit(split.pre + (new,), _texts(split.pre) + " " + _head_text(new))
    if isinstance(st, (s.DoWhile, s.While)) and not _has_continue(st.body):
        decls, each = _hoist(split.pre)
        sp = st.body.span
        body = s.Block((st.body,) + each, sp)
        if isinstance(new, s.DoWhile):
            loop: s.Stmt = replace(new, body=body)
            text = f"{_texts(decls)} do {{ ... {_texts(each)} }} while ({expr_text(new.cond)});"
            return edit(decls + (loop,), text)
        assert isinstance(new, s.While)
        loop = replace(new, body=body)
        text = f"{_texts(decls)} {_texts(each)} while ({expr_text(new.cond)}) {{ ... {_texts(each)} }}"
        return edit(decls + each + (loop,), text)
    return None


def _swaps(lst: _StmtList, i: int, info: _Info, sources: SourceCache) -> list[_Edit]:
    a, b = lst.stmts[i], lst.stmts[i + 1]
    if lst.in_atomic:
        return []
    for st in (a, b):
        if _escapes(st) or not info.stmt_accesses(st):
            return []
        if isinstance(st, s.ExprStmt) and isinstance(st.expr, s.Call) and st.expr.func in _CHECKS:
            return []
    ra, wa = info.locals_read_written(a)
    rb, wb = info.locals_read_written(b)
    if wa & (rb | wb) or wb & ra:
        return []
    ta, tb = source_text(sources, a.span), source_text(sources, b.span)
    return [_Edit("swap", a.span, f"{ta} {tb}", f"{tb} {ta}", (b, a))]


def generate(module: s.Module, sources: SourceCache, operators: tuple[str, ...] = OPERATORS,
             all_files: bool = False) -> list[Mutant]:
    """Every mutant of `module` by the given operators, in source order (file, line, column)."""
    info = _Info(module)
    found: list[tuple[tuple[int, int, int, int], Mutant]] = []
    files: dict[str, int] = {}

    def keep(lst: _StmtList, i: int, width: int, e: _Edit) -> None:
        if e.operator not in operators:
            return
        new = lst.rebuild(lst.stmts[:i] + e.stmts + lst.stmts[i + width:])
        files.setdefault(e.span.file, len(files))
        key = (files[e.span.file], e.span.line, e.span.column, OPERATORS.index(e.operator))
        found.append((key, Mutant(e.operator, e.span, e.original, e.mutated, new)))

    for lst in _stmt_lists(module):
        for i, st in enumerate(lst.stmts):
            if not all_files and st.span.file != module.path:
                continue
            for e in _drop(st, sources) + _tryget_drops(st, sources):
                keep(lst, i, 1, e)
            if not lst.in_atomic:
                for e in _non_atomic(st, info, sources):
                    keep(lst, i, 1, e)
            if i + 1 < len(lst.stmts):
                for e in _swaps(lst, i, info, sources):
                    keep(lst, i, 2, e)
    found.sort(key=lambda item: item[0])
    return [m for _, m in found]


# ---- verifying ------------------------------------------------------------------------------
def verify_module(module: s.Module, sources: SourceCache, options: VerifyOptions) -> ModelResult:
    """resolve -> unroll -> verify, as verify_path does after parsing (UserError if invalid)."""
    start = time.perf_counter()
    program = resolve(module, dict(options.defines), options.bound)
    return verify_program(unroll(program), sources, options, start)


def statuses(result: ModelResult) -> dict[str, str]:
    """Each property's status. (Not the length of a violation's shortest trace: a mutation moves
    it by itself, a non-atomic split adds a step and a dropped statement removes one, so a
    change of length does not show that a property told the mutant apart.)"""
    return {p.name: p.status for p in result.properties}


def judge(original: dict[str, str], mutant: dict[str, str]) -> tuple[Change, ...]:
    """The properties whose status differs (a property missing on one side is 'absent')."""
    names = list(original) + [n for n in mutant if n not in original]
    return tuple(Change(n, original.get(n, "absent"), mutant.get(n, "absent")) for n in names
                 if original.get(n, "absent") != mutant.get(n, "absent"))


def run_mutant(mutant: Mutant, original: dict[str, str], sources: SourceCache, options: VerifyOptions,
               baseline: "Outcomes | None" = None) -> MutantResult:
    """Verify one mutant; a survivor is compared with `baseline` (the original's outcomes), if given."""
    start = time.perf_counter()
    try:
        result = verify_module(mutant.module, sources, options)
    except UserError as exc:
        d = exc.diagnostics[0] if exc.diagnostics else None
        error = f"{d.span}: {d.message}" if d is not None else str(exc)
        return MutantResult(mutant, INVALID, (), error, time.perf_counter() - start)
    changes = judge(original, statuses(result))
    if changes or baseline is None:
        return MutantResult(mutant, KILLED if changes else SURVIVED, changes, "", time.perf_counter() - start)
    equivalent, evidence = compare_outcomes(baseline, resolve(mutant.module, dict(options.defines), options.bound))
    return MutantResult(mutant, SURVIVED, (), "", time.perf_counter() - start, equivalent, evidence)


@dataclass(frozen=True)
class Outcomes:
    """What a model can end in, by the reference interpreter (every execution, unbounded)."""

    program: ir.Program
    exploration: Exploration


def outcomes(program: ir.Program) -> Outcomes:
    return Outcomes(program, explore(program, keep_finals=True))


def compare_outcomes(original: Outcomes, program: ir.Program) -> tuple[bool | None, str]:
    """NOTE(equivalent): a surviving mutant *ends as the original* when the reference
    interpreter finds that it ends in exactly the original's set of final states (the memory,
    refcounts included, and each thread's status where no thread can move) and violates exactly
    the original's properties. Both explorations are complete (every execution, no bound), so
    this is a fact about the model, not a sample: no property of the final state (a leak, a
    value left behind) can tell the two apart. It is not a proof that each execution ends as
    before: on a design that is already broken, a mutant may end differently in some runs and
    still reach only final states the original reaches by other runs (its defect is masked by the
    design's own). A survivor that ends differently shows a difference no property catches: a
    missing property, or one nobody cares about; the evidence names the locations whose final
    values differ."""
    mine = explore(program, keep_finals=True)
    theirs = original.exploration
    if not (mine.complete and theirs.complete):
        return None, "the reference interpreter hit its state limit: equivalence not decided"
    if set(mine.violations) != set(theirs.violations):
        only = sorted(set(mine.violations) ^ set(theirs.violations))
        return False, "the reference interpreter disagrees on " + ", ".join(only) + " (unbounded: the bound hid it)"
    if mine.finals == theirs.finals:
        return True, (f"ends as the original: the same {len(mine.finals)} final states and violations "
                      f"(reference interpreter, every execution)")
    layout = original.program.layout
    differ = []
    for i, loc in enumerate(layout.locations):
        a = {m[i] for m, _ in theirs.finals}
        b = {m[i] for m, _ in mine.finals}
        if a != b:
            def show(vals: set[int]) -> str:
                if loc.refcount_of is not None:
                    return "{" + ", ".join(render_refcount(v, layout) for v in sorted(vals)) + "}"
                return "{" + ", ".join(render(v, loc.type.pointer, layout) for v in sorted(vals)) + "}"
            differ.append(f"{loc.name} ends as {show(a)} in the original, {show(b)} in the mutant")
    if not differ:
        differ.append("the same final memories, but threads end in other states (finished, blocked, stopped)")
    return False, "ends differently: " + "; ".join(differ[:3])


# ---- the command ----------------------------------------------------------------------------
_USAGE = "objcg-prove mutate [--bound K] [-D NAME=VALUE] [--json] [--only OPERATOR] [--limit N] [--all-files] MODEL"


_EPILOG = """operators:
  drop-put     delete a put(p); or a kill(p);
  drop-get     delete a get(p); a tryget(p) in a condition becomes refcount(p) != 0 (no reference)
  non-atomic   xchg, cmpxchg, try_cmpxchg, set_bit, clear_bit ... become a plain read and a plain write
  swap         swap two adjacent, independent statements that each make a shared access
  drop-assume  delete an assume(c);

exit status: 0 every valid mutant killed, 1 some mutant survived, 2 bad input or usage"""


def _parser(out: TextIO) -> CommandParser:
    p = CommandParser(prog="objcg-prove mutate", usage=_USAGE, formatter_class=argparse.RawDescriptionHelpFormatter,
                      description="Mutate the model's design code and check that some verdict changes for each mutant.",
                      epilog=_EPILOG)
    p.add_argument("model", metavar="MODEL", help="model file (.dsl)")
    p.add_argument("--bound", "-k", default=None, help="loop unrolling bound (overrides the model's 'bound')")
    p.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME=VALUE", help="override a param")
    p.add_argument("--json", action="store_true", help="print a machine-readable report")
    p.add_argument("--only", action="append", default=[], metavar="OPERATOR",
                   help="apply only this operator (repeatable): " + ", ".join(OPERATORS))
    p.add_argument("--limit", default=None, metavar="N", help="verify only the first N mutants (in source order)")
    p.add_argument("--all-files", action="store_true", help="also mutate statements of included files (the harness)")
    p.add_argument("--timeout", type=float, default=SolverOptions.timeout_s, help="seconds per solver query (default %(default)s)")
    p.out = out
    return p


def _positive(option: str, text: str | None, minimum: int) -> int | None:
    if text is None:
        return None
    try:
        value = int(text, 0)
    except ValueError:
        raise UsageError(f"{option} {text}: expected an integer") from None
    if value < minimum:
        raise UsageError(f"{option} {value}: must be at least {minimum}")
    return value


def _clip(text: str, width: int = 90) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _line(n: int, r: MutantResult) -> str:
    m = r.mutant
    if r.outcome == INVALID:
        why = f"[invalid: {r.error}]"
    elif r.changes:
        why = "[" + ", ".join(f"{c.property}: {c.original} -> {c.mutant}" for c in r.changes) + "]"
    else:
        why = "[every verdict unchanged]"
    line = (f"{n:>3}  {r.outcome.upper():<8}  {m.operator:<11}  {m.span.file}:{m.span.line}  "
            f"{_clip(m.original)}  =>  {_clip(m.mutated)}  {why}  ({r.time_s:.1f}s)")
    if r.evidence:
        line += f"\n{'':>15}{r.evidence}"
    return line


def _record(n: int, r: MutantResult) -> dict[str, Any]:
    m = r.mutant
    return {"index": n, "operator": m.operator, "file": m.span.file, "line": m.span.line,
            "column": m.span.column, "original": m.original, "mutated": m.mutated, "outcome": r.outcome,
            "changes": [{"property": c.property, "original": c.original, "mutant": c.mutant} for c in r.changes],
            "error": r.error, "equivalent": r.equivalent, "evidence": r.evidence, "time_s": round(r.time_s, 3)}


def mutate_main(argv: list[str], stdout: TextIO, stderr: TextIO) -> int:
    """`objcg-prove mutate ...`: returns the exit status (0 all killed, 1 some survived, 2 bad input)."""
    parser = _parser(stdout)
    try:
        args = parser.parse_args(argv)
        for op in args.only:
            if op not in OPERATORS:
                raise UsageError(f"--only {op}: unknown operator; the operators are {', '.join(OPERATORS)}")
        parse_timeout(args.timeout)
        options = VerifyOptions(bound=parse_bound(args.bound), defines=parse_defines(args.defines),
                                solver=SolverOptions(timeout_s=args.timeout), minimize=False)
        limit = _positive("--limit", args.limit, 0)
    except Exit as done:
        return done.status
    except UsageError as exc:
        stderr.write(f"objcg-prove mutate: error: {exc}\nusage: {_USAGE}\n")
        return EXIT_USAGE
    operators = tuple(op for op in OPERATORS if not args.only or op in args.only)

    processing(args.model)   # NOTE(internal-errors)
    start = time.perf_counter()
    sources = SourceCache()
    try:
        module = load_model(args.model, sources)
        base = verify_module(module, sources, options)
        baseline = outcomes(resolve(module, dict(options.defines), options.bound))
    except UserError as exc:
        for d in exc.diagnostics:
            stderr.write(d.render(sources) + "\n")
        return EXIT_USAGE
    original = statuses(base)
    for name, status in original.items():
        if status == "unknown":
            stderr.write(f"objcg-prove mutate: warning: the original's property {name} is unknown; "
                         f"mutants are compared with that verdict as it is\n")
    mutants = generate(module, sources, operators, args.all_files)
    if limit is not None:
        mutants = mutants[:limit]
    verdicts = ", ".join(f"{n} {st}" for n, st in original.items())
    if not args.json:
        stdout.write(f"{args.model}  (bound {base.bound}): original {verdicts}  ({base.time_s:.1f}s); "
                     f"{len(mutants)} mutants\n")
        stdout.flush()
    results: list[MutantResult] = []
    for n, mutant in enumerate(mutants, 1):
        r = run_mutant(mutant, original, sources, options, baseline)
        results.append(r)
        if not args.json:
            stdout.write(_line(n, r) + "\n")
            stdout.flush()
    summary = summarize(results, time.perf_counter() - start)
    if args.json:
        report = {"model": args.model, "bound": base.bound,
                  "original": {"statuses": original, "time_s": round(base.time_s, 3)},
                  "mutants": [_record(n, r) for n, r in enumerate(results, 1)],
                  "summary": {"mutants": summary.mutants, "killed": summary.killed, "survived": summary.survived,
                              "invalid": summary.invalid, "equivalent": summary.equivalent,
                              "score": None if summary.score is None else round(summary.score, 1),
                              "score_non_equivalent": (None if summary.score_non_equivalent is None
                                                       else round(summary.score_non_equivalent, 1)),
                              "time_s": round(summary.time_s, 3)}}
        stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        stdout.write(f"time: {summary.time_s:.1f}s (the original {base.time_s:.1f}s)\n")
        stdout.write(summary.text() + "\n")
    return EXIT_SURVIVED if summary.survived else EXIT_ALL_KILLED
