"""A design as a difference: `replace` and `extend` applied to the loaded declarations.

Input: the declarations of a model file and everything it includes, in file order (parser.py,
includes expanded in place), among them `syntax.Replace`, `syntax.ExtendStruct` and
`syntax.ExtendObject`, and the include graph. Output: the declarations of one program, with no
`replace` or `extend` left: each replaced declaration's place holds its replacement (so objects
keep their addresses), each extended struct ends with the added fields, each extended object
has the added initialisers. Every misuse is a located diagnostic, all raised together as one
UserError. The rules are docs/dsl.md, "replace and extend".
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import replace

from . import syntax as s
from .diagnostics import Diagnostic, Span, UserError

# what `replace` may stand instead of; the other named declarations (threads, common paths)
# only appear as what a misused `replace` found
_REPLACEABLE = (s.ProcDecl, s.ObjectDecl, s.SharedDecl, s.ConstDecl)
_NAMED = (*_REPLACEABLE, s.ThreadDecl, s.CommonPathDecl)
_REUSE = (s.Replace, s.ExtendStruct, s.ExtendObject)


class IncludeGraph:
    """Which file includes which (files by the name diagnostics show), filled by parser._load."""

    def __init__(self) -> None:
        self._edges: dict[str, set[str]] = {}

    def add(self, includer: str, included: str) -> None:
        self._edges.setdefault(includer, set()).add(included)

    def includes(self, includer: str, included: str) -> bool:
        """`includer` includes `included`, directly or through other files (not itself)."""
        todo, seen = list(self._edges.get(includer, ())), set()
        while todo:
            f = todo.pop()
            if f == included:
                return True
            if f not in seen:
                seen.add(f)
                todo.extend(self._edges.get(f, ()))
        return False


def apply_reuse(decls: Sequence[s.Decl | s.ReuseDecl], graph: IncludeGraph) -> tuple[s.Decl, ...]:
    plain = [d for d in decls if not isinstance(d, _REUSE)]
    reuse = [d for d in decls if isinstance(d, _REUSE)]
    if not reuse:
        return tuple(plain)
    first: dict[str, int] = {}
    structs: dict[str, int] = {}
    for i, d in enumerate(plain):
        if isinstance(d, _NAMED):
            first.setdefault(d.name, i)
        elif isinstance(d, s.StructDecl):
            structs.setdefault(d.name, i)
    diags: list[Diagnostic] = []
    replaced: dict[int, list[s.Replace]] = {}
    fields: dict[int, tuple[s.FieldDecl, ...]] = {}
    inits: dict[int, list[s.ExtendObject]] = {}
    for r in reuse:
        if isinstance(r, s.ExtendStruct):
            i = structs.get(r.name)
            target = plain[i] if i is not None else None
            if _placed(f"extend struct '{r.name}'", r.name, r.span, target, list(structs), graph, diags, kind="struct "):
                assert i is not None
                fields[i] = fields.get(i, ()) + r.fields
            continue
        verb = "replace" if isinstance(r, s.Replace) else "extend"
        name, what = r.decl.name, f"{verb} {_keyword(r.decl)} '{r.decl.name}'"
        i = first.get(name)
        candidates = [d.name for d in plain if isinstance(d, type(r.decl))]
        if _placed(what, name, r.span, plain[i] if i is not None else None, candidates, graph, diags):
            assert i is not None
            if _matches(what, r.decl, r.span, plain[i], diags):
                if isinstance(r, s.Replace):
                    replaced.setdefault(i, []).append(r)
                else:
                    inits.setdefault(i, []).append(r)
    out: list[s.Decl] = list(plain)
    for i, reps in replaced.items():
        winner = _outermost(reps, graph, diags)
        if winner is not None:
            out[i] = winner.decl
    for i, added in fields.items():
        struct = out[i]
        assert isinstance(struct, s.StructDecl)
        out[i] = replace(struct, fields=struct.fields + added)
    for i, extensions in inits.items():
        out[i] = _initialised(out[i], extensions, diags)
    if diags:
        raise UserError(diags)
    return tuple(out)


def _initialised(obj: s.Decl, extensions: list[s.ExtendObject], diags: list[Diagnostic]) -> s.Decl:
    """The object (as replaced, if it is) with the extensions' initialisers added; a field it
    already initialises is an error (that is a `replace object`)."""
    assert isinstance(obj, s.ObjectDecl)
    have = {f.name: f.span for f in obj.inits}
    added = list(obj.inits)
    for e in extensions:
        for f in e.decl.inits:
            if f.name in have:
                diags.append(Diagnostic(f.span, f"extend object '{obj.name}': .{f.name} is initialised already, at {have[f.name]}",
                                        ("extend object adds initialisers; to change one, replace the object",)))
                continue
            have[f.name] = f.span
            added.append(f)
    return replace(obj, inits=tuple(added))


def _placed(what: str, name: str, span: Span, target: s.Decl | None, candidates: Iterable[str], graph: IncludeGraph,
            diags: list[Diagnostic], kind: str = "") -> bool:
    """Does `target` (the first declaration of `name`) sit in a file the replacing one includes?"""
    if target is None:
        diags.append(Diagnostic(span, f"{what}: no included file declares {kind}'{name}'", _did_you_mean(name, candidates)))
        return False
    if target.span.file == span.file:
        diags.append(Diagnostic(span, f"{what}: '{name}' is declared in this file, at {target.span}",
                                ("replace and extend change a declaration of an included file; change this one instead",)))
        return False
    if not graph.includes(span.file, target.span.file):
        diags.append(Diagnostic(span, f"{what}: '{name}' is declared in {target.span.file}, which this file does not include",
                                (f"the declaration is at {target.span}",)))
        return False
    if kind == "" and not isinstance(target, _REPLACEABLE):
        diags.append(Diagnostic(span, f"{what}: '{name}' is a {_what(target)}, not a {what.split()[1]}",
                                (f"the declaration is at {target.span}",)))
        return False
    return True


def _did_you_mean(name: str, candidates: Iterable[str]) -> tuple[str, ...]:
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=3, cutoff=0.6)
    return (f"did you mean {' or '.join(repr(c) for c in close)}?",) if close else ()


def _matches(what: str, new: s.Decl, span: Span, target: s.Decl, diags: list[Diagnostic]) -> bool:
    """`new` has the kind and signature of `target`, the declaration it replaces or extends."""
    if type(new) is not type(target) or _keyword(new) != _keyword(target):
        name = getattr(new, "name", "")
        diags.append(Diagnostic(span, f"{what}: '{name}' is a {_what(target)}", (f"the declaration is at {target.span}",)))
        return False
    if _shape(new) != _shape(target):
        verb = "replaced" if what.startswith("replace") else "extended"
        diags.append(Diagnostic(span, f"{what}: {_signature(new)} does not match the {verb} {_signature(target)}",
                                (f"the {verb} declaration is at {target.span}",)))
        return False
    return True


def _outermost(reps: list[s.Replace], graph: IncludeGraph, diags: list[Diagnostic]) -> s.Replace | None:
    """The replacement that wins: the one whose file includes the files of all the others.
    Two replacements of which neither file includes the other are an error."""
    ok = True
    for j, later in enumerate(reps):
        for earlier in reps[:j]:
            a, b = later.span.file, earlier.span.file
            if not (graph.includes(a, b) or graph.includes(b, a)):
                diags.append(Diagnostic(later.span, f"'{later.decl.name}' is replaced twice",
                                        (f"the other replacement is at {earlier.span}; neither file includes the other",)))
                ok = False
    if not ok:
        return None
    return next(r for r in reps if all(o is r or graph.includes(r.span.file, o.span.file) for o in reps))


def _keyword(d: s.Decl) -> str:
    """The word `replace` is followed by for a declaration like `d` (else what `d` is)."""
    return _kind(d)[0]


def _what(d: s.Decl) -> str:
    """What `d` is, in words."""
    return _kind(d)[1]


def _kind(d: s.Decl) -> tuple[str, str]:
    if isinstance(d, s.ProcDecl):
        return "proc", "procedure"
    if isinstance(d, s.ObjectDecl):
        return "object", "object"
    if isinstance(d, s.SharedDecl):
        return ("ghost", "ghost variable") if d.ghost else ("shared", "shared variable")
    if isinstance(d, s.ConstDecl):
        return ("param", "param") if d.is_param else ("const", "constant")
    if isinstance(d, s.ThreadDecl):
        return "thread", "thread"
    if isinstance(d, s.CommonPathDecl):
        return "common path", "common path"
    return type(d).__name__, type(d).__name__


def _shape(d: s.Decl) -> object:
    """What a replacement must keep (syntax compares without spans: sizes written alike are equal)."""
    if isinstance(d, s.ProcDecl):
        return d.returns, tuple(p.type for p in d.params)
    if isinstance(d, s.ObjectDecl):
        return d.struct_name, d.size
    if isinstance(d, s.SharedDecl):
        return d.type, d.ghost, d.size
    return _keyword(d)


def _signature(d: s.Decl) -> str:
    """`_shape` as the C a kernel developer reads."""
    if isinstance(d, s.ProcDecl):
        params = ", ".join(_type(p.type) for p in d.params) or "void"
        return f"'{_declarator(_type(d.returns), d.name)}({params})'"
    if isinstance(d, s.ObjectDecl):
        return f"'struct {d.struct_name} {d.name}{_size(d.size)}'"
    if isinstance(d, s.SharedDecl):
        return f"'{_keyword(d)} {_declarator(_type(d.type), d.name)}{_size(d.size)}'"
    return f"'{_keyword(d)}'"


def _type(t: s.TypeRef | None) -> str:
    if t is None:
        return "void"
    base = "word" if t.struct_name is None else f"struct {t.struct_name}"
    return f"{base} *" if t.pointer else base


def _declarator(type_text: str, name: str) -> str:
    return type_text + name if type_text.endswith("*") else f"{type_text} {name}"


def _size(e: s.Expr | None) -> str:
    if e is None:
        return ""
    if isinstance(e, s.Num):
        return f"[{e.value}]"
    return f"[{e.ident}]" if isinstance(e, s.Name) else "[...]"
