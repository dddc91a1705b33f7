"""A mutant as a design file a reviewer can run: `objcg-prove mutate MODEL --write-mutant N FILE`.

Input: the original module, one `Mutant` of it (mutants.py), the model's path, the file to
write and the source cache. Output: the text of a difference file (docs/dsl.md, "replace and
extend"): `include` of the model, then `replace proc` with the mutated procedure printed back
from the syntax, so the file is the mutant exactly (loading it gives the mutant's declarations;
tests/study/test_mutate.py checks every mutant of v5). Each printed statement keeps the `//`
comment of the line it was written on, so traces still show the C line. A mutant of a thread
(possible with --all-files) cannot be written: `replace` takes procedures, not threads.
"""

from __future__ import annotations

import os.path
from typing import Callable

from ..lang import syntax as s
from ..lang.diagnostics import SourceCache
from .mutants import Mutant
from .syntax_text import expr_text, stmt_text, type_text

_INDENT = "    "
_Note = Callable[[s.Stmt], str]


class NotADifference(Exception):
    """The mutant changes something a difference file cannot replace (a thread)."""


def changed_decl(original: s.Module, mutant: Mutant) -> s.Decl:
    """The one declaration the mutant changes (syntax compares without spans)."""
    changed = [new for old, new in zip(original.decls, mutant.module.decls) if old != new]
    assert len(changed) == 1, f"a mutant changes one declaration, not {len(changed)}"
    return changed[0]


def difference_text(original: s.Module, mutant: Mutant, number: int, model: str, target: str, sources: SourceCache) -> str:
    decl = changed_decl(original, mutant)
    if not isinstance(decl, s.ProcDecl):
        what = f"thread {decl.name}" if isinstance(decl, s.ThreadDecl) else type(decl).__name__
        raise NotADifference(f"mutant {number} changes {what}: a difference file can only replace a procedure")
    include = os.path.relpath(os.path.abspath(model), os.path.dirname(os.path.abspath(target)))
    head = [f"// mutant {number} of {model}: {mutant.operator} at {mutant.span}",
            f"//   {mutant.original}", f"//   => {mutant.mutated}",
            "// written by `objcg-prove mutate --write-mutant`: the model with one procedure replaced",
            f'include "{include}";', ""]
    return "\n".join(head + ["replace " + line if i == 0 else line
                             for i, line in enumerate(proc_lines(decl, _comments(sources, mutant)))]) + "\n"


def _comments(sources: SourceCache, mutant: Mutant) -> _Note:
    """The `//` comment of the line a statement was written on, once per line; the mutated
    line says so first."""
    used: set[tuple[str, int]] = set()
    mutated = (mutant.span.file, mutant.span.line)

    def note(st: s.Stmt) -> str:
        where = (st.span.file, st.span.line)
        if where in used or not st.span.line:
            return ""
        used.add(where)
        line = sources.line(*where) or ""
        cut = line.find("//")
        comment = "  " + line[cut:].rstrip() if cut >= 0 else ""
        if where == mutated:
            return f"  // MUTANT ({mutant.operator}) was: {mutant.original}" + (" " + comment.strip() if comment else "")
        return comment

    return note


def proc_lines(d: s.ProcDecl, note: _Note) -> list[str]:
    """`d` as DSL text, one statement a line, in the shape of its syntax (a branch without
    braces stays without): parsed again it is `d` (up to spans)."""
    params = ", ".join(_declared(type_text(p.type), p.name) for p in d.params) or "void"
    returns = "void" if d.returns is None else type_text(d.returns)
    out = [f"proc {_declared(returns, d.name)}({params}) {{"]
    for st in d.body.body:
        _stmt(st, 1, out, note)
    out.append("}")
    return out


def _declared(type_: str, name: str) -> str:
    return type_ + name if type_.endswith("*") else f"{type_} {name}"


def _stmt(st: s.Stmt, depth: int, out: list[str], note: _Note) -> None:
    pad = _INDENT * depth
    if isinstance(st, s.Block):
        out.append(pad + "{" + note(st))
        _close(st, depth, out, note, "}")
    elif isinstance(st, s.If):
        _compound(f"if ({expr_text(st.cond)})", st, st.then, depth, out, note)
        if st.other is not None:
            _compound("else", None, st.other, depth, out, note)
    elif isinstance(st, s.While):
        _compound(f"while ({expr_text(st.cond)})", st, st.body, depth, out, note)
    elif isinstance(st, s.For):
        head = stmt_text(s.For(st.init, st.cond, st.step, s.Empty())).removesuffix(" ;")
        _compound(head, st, st.body, depth, out, note)
    elif isinstance(st, s.DoWhile):
        tail = f"while ({expr_text(st.cond)});"
        if isinstance(st.body, s.Block):
            out.append(pad + "do {" + note(st))
            _close(st.body, depth, out, note, "} " + tail)
        else:
            out.append(pad + "do" + note(st))
            _stmt(st.body, depth + 1, out, note)
            out.append(pad + tail)
    elif isinstance(st, s.Atomic):
        out.append(pad + "atomic {" + note(st))
        _close(st.body, depth, out, note, "}")
    else:
        out.append(pad + stmt_text(st) + note(st))


def _compound(head: str, st: s.Stmt | None, body: s.Stmt, depth: int, out: list[str], note: _Note) -> None:
    """`head` and its body: a block on the head's line (`if (c) {`), another statement below."""
    pad = _INDENT * depth
    comment = note(st) if st is not None else ""
    if isinstance(body, s.Block):
        out.append(f"{pad}{head} {{{comment}")
        _close(body, depth, out, note, "}")
    else:
        out.append(f"{pad}{head}{comment}")
        _stmt(body, depth + 1, out, note)


def _close(block: s.Block, depth: int, out: list[str], note: _Note, closing: str) -> None:
    for inner in block.body:
        _stmt(inner, depth + 1, out, note)
    out.append(_INDENT * depth + closing)
