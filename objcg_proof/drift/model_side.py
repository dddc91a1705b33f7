"""Drift, the model's side: which C lines each mirrored procedure says it mirrors.

Input: a parsed model (lang/parser.py `load_model`, every included file with it) and its
sources. Output: one `ProcMirror` per item of the model's `mirrors` declarations, holding the
procedure's mirror lines in order. Bad input (a `mirrors` item naming no procedure of the
model, a procedure mirrored twice) is a UserError at the item.

NOTE(mirror-comments): how a model line says what it mirrors. Inside a mirrored procedure
(its `proc` line to its closing brace):
- a line of DSL code with a trailing `// C` comment mirrors that C line. The comment's C text
  ends where two spaces begin a note: `return __get_obj_cgroup_from_memcg(memcg);  //  goto
  from_memcg;  (under rcu_read_lock)` mirrors `goto from_memcg;`;
- a comment alone on its line that begins `not modelled:` waives the C statement that follows
  the colon (up to a two-space note), wherever the function has it: the model says on purpose
  that it leaves the statement out, and why;
- any other comment alone on its line is a note for readers, and says nothing to drift.
Comparison is on normalized C (drift/c_source.py `normalize_c`): whitespace and comments never
count, and a leading `}` or trailing `{` does not either, so `} while (x);` mirrors a
do-while's end and `if (old) {` an `if (old)`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..lang import syntax as s
from ..lang.diagnostics import Diagnostic, SourceCache, UserError
from .c_source import closest_names, normalize_c

WAIVER = "not modelled:"


@dataclass(frozen=True)
class MirrorLine:
    """One C line a model line says it mirrors (or, `waiver`, says it leaves out)."""

    file: str
    line: int
    text: str          # the C text, as the comment has it
    key: str           # normalize_c(text)
    waiver: bool = False


@dataclass(frozen=True)
class ProcMirror:
    """A procedure and the C function it mirrors."""

    proc: str
    function: str
    c_file: str                    # relative to a kernel tree
    state: str                     # merged, unmerged or reconstructed (lang/syntax.py MirrorsDecl)
    item: s.Span                   # the `mirrors` item
    proc_span: s.Span
    lines: tuple[MirrorLine, ...]  # in the model's order, waivers included


def model_mirrors(module: s.Module, sources: SourceCache) -> list[ProcMirror]:
    """Every mirrored procedure of the model, in declaration order (NOTE(mirror-comments))."""
    procs = {d.name: d for d in module.decls if isinstance(d, s.ProcDecl)}
    found: list[ProcMirror] = []
    errors: list[Diagnostic] = []
    seen: dict[str, s.Span] = {}
    for decl in module.decls:
        if not isinstance(decl, s.MirrorsDecl):
            continue
        for item in decl.items:
            proc = procs.get(item.proc)
            if proc is None:
                near = closest_names(item.proc, procs)
                hint = f" (did you mean {', '.join(near)}?)" if near else \
                    f" (its procedures: {', '.join(sorted(procs)) or 'none'})"
                errors.append(Diagnostic(item.span, f"mirrors {item.proc}: the model has no procedure of that name{hint}"))
                continue
            if item.proc in seen:
                errors.append(Diagnostic(item.span, f"{item.proc} is mirrored twice (first at line {seen[item.proc].line})"))
                continue
            seen[item.proc] = item.span
            found.append(ProcMirror(item.proc, item.function, decl.c_file, decl.state, item.span, proc.span,
                                    mirror_lines(proc.span, sources)))
    if errors:
        raise UserError(errors)
    return found


def mirror_lines(span: s.Span, sources: SourceCache) -> tuple[MirrorLine, ...]:
    """The mirror lines and waivers between a procedure's first and last line."""
    out: list[MirrorLine] = []
    for number in range(span.line + 1, (span.end_line or span.line) + 1):
        line = sources.line(span.file, number)
        if line is None:
            break
        code, comment = split_comment(line)
        if comment is None:
            continue
        if code.strip():
            c_text = _c_part(comment)
            waiver = False
        elif comment.strip().startswith(WAIVER):
            c_text = _c_part(comment.strip()[len(WAIVER):])
            waiver = True
        else:
            continue
        key = normalize_c(c_text)
        if key:
            out.append(MirrorLine(span.file, number, c_text, key, waiver))
    return tuple(out)


def split_comment(line: str) -> tuple[str, str | None]:
    """A model line's code and its `//` comment (None without one); a `//` inside a string
    literal is code."""
    quote = False
    i = 0
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == '"':
                quote = False
        elif ch == '"':
            quote = True
        elif line.startswith("//", i):
            return line[:i], line[i + 2:]
        i += 1
    return line, None


def _c_part(comment: str) -> str:
    """The C text of a mirror comment: up to two spaces that begin a note (NOTE(mirror-comments))."""
    text = comment.strip()
    cut = text.find("  ")
    return text[:cut] if cut >= 0 else text
