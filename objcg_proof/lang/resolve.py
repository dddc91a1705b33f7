"""Resolve stage: syntax -> ir.Program.

Binds every name (locals, constants, parameters, shared variables, objects, fields, procedures,
builtins), computes the memory layout (object addresses, one location per shared word), types
every expression, and enforces the atomicity rule: outside `atomic { }` a statement may touch
shared state at most once (ghost variables do not count). All diagnostics are gathered and
raised together as one UserError. Numbers never wrap silently where the user wrote them
(NOTE(numbers) in constants.py); calls nest no deeper once inlined than the later stages can
walk (`check_inlined_depth` in calls.py, NOTE(nesting) in lang/parser.py).

This module is the stage's entry: `Resolver` runs the parts in order, each in its own module:
names.py (the symbol table, scopes, builtin names, the diagnostics), constants.py (the word
width and constant expressions), layout.py (structs, objects, shared words), exprs.py and
stmts.py (binding and typing of expressions and statements), atomicity.py (the atomicity
rule) and calls.py (the call graph, recursion and inlined depth).
"""

from __future__ import annotations

import functools

from . import ir
from . import syntax as s
from .atomicity import AtomicityRule
from .calls import MAX_INLINED_NESTING, CallGraph, check_inlined_depth, declared_properties
from .constants import DEFAULT_BOUND, DEFAULT_WIDTH, EXACT_BITS, MAX_BOUND, Constants
from .diagnostics import Span, UserError
from .exprs import ExprChecker
from .final import FinalChecker, final_properties
from .layout import LayoutBuilder
from .names import EXPR_BUILTINS, STMT_BUILTINS, Bail, Ctx, Names, Scope
from .stmts import StmtChecker

__all__ = ["DEFAULT_BOUND", "DEFAULT_WIDTH", "EXACT_BITS", "EXPR_BUILTINS", "MAX_BOUND", "MAX_INLINED_NESTING",
           "STMT_BUILTINS", "Resolver", "resolve"]


# the memory models a model may declare (prove/encode.py's MEMORY_MODELS implements them)
MEMORY_MODELS = ("sc", "lkmm")


class Resolver:
    """One model's resolution: the parts in order, then the program or every diagnostic."""

    def __init__(self, module: s.Module, overrides: dict[str, int], bound_override: int | None) -> None:
        self.module = module
        self.names = Names(module, overrides)
        self.constants = Constants(self.names, bound_override)
        self.layout = LayoutBuilder(self.names, self.constants)
        self.graph = CallGraph(self.names)
        exprs = ExprChecker(self.names, self.constants)
        self.stmts = StmtChecker(self.names, exprs, AtomicityRule(self.names), self.graph)
        self.final = FinalChecker(self.names, exprs)

    def run(self) -> ir.Program:
        decls = self.module.decls
        names, constants = self.names, self.constants
        width_span = constants.read_width(decls)
        names.declare(decls, lambda e: constants.const_or(e, 0), constants.override)
        bound, bound_span = constants.bound(decls)
        for d in decls:
            if isinstance(d, s.StructDecl):
                self.layout.struct(d)
        self.layout.objects(decls)
        layout = self.layout.layout(decls)
        names.layout = layout
        procs = [self._proc(d) for d in decls if isinstance(d, s.ProcDecl)]
        threads = [self._thread(d) for d in decls if isinstance(d, s.ThreadDecl)]
        paths = [self._common_path(d) for d in decls if isinstance(d, s.CommonPathDecl)]
        final = self.final.resolve(decls, any(layout.struct(o.struct).refcounted for o in layout.objects))
        if not threads and not names.diags:
            names.err(Span(self.module.path, 1, 1), "the model declares no thread: nothing to check")
        self.graph.check_recursion()
        self._check_word_addresses(layout)
        if not names.diags:
            check_inlined_depth(names, procs, [(f"thread {t.name}", t.body) for t in threads if t is not None]
                                + [(f"common_path {c.name}", c.given.body + c.path.body) for c in paths if c is not None])
        memory_model = self._memory_model(decls)
        if names.diags:
            raise UserError(names.sorted_diags())
        kept_procs = tuple(p for p in procs if p is not None)
        kept_threads = tuple(t for t in threads if t is not None)
        return ir.Program(self.module.path, layout, kept_procs, kept_threads, bound, bound_span,
                          tuple(sorted(names.params.items())),
                          final_properties(final, declared_properties(kept_procs, kept_threads)),
                          tuple(p for p in paths if p is not None), width_span, final, memory_model)

    def _memory_model(self, decls: tuple[s.Decl, ...]) -> str:
        """The model's `memory_model` declaration (at most one): sc (the default) or lkmm."""
        found = [d for d in decls if isinstance(d, s.MemoryModelDecl)]
        for d in found[1:]:
            self.names.err(d.span, f"memory_model declared twice (first at line {found[0].span.line})")
        if not found:
            return "sc"
        if found[0].name not in MEMORY_MODELS:
            self.names.err(found[0].span, f"unknown memory model '{found[0].name}': expected one of "
                                          + ", ".join(MEMORY_MODELS))
            return "sc"
        return found[0].name

    # ---- procedures and threads
    def _check_word_addresses(self, layout: ir.Layout) -> None:
        """NOTE(word-addresses) in lang/ir.py: with a `struct S **` in the model, every word a
        pointer to a pointer may hold the address of must have an address below the top bit."""
        span = self.names.indirect_span
        words = [loc.id for loc in layout.locations if loc.type.pointer and not loc.type.indirect and not loc.ghost]
        if span is None or not words:
            return
        top = layout.word_address(max(words))
        if top >= 1 << (layout.width - 1):
            self.names.err(span, f"the addresses of the model's shared words (up to {top}) do not fit in "
                                 f"{layout.width}-bit words, which a pointer to a pointer needs: declare a larger 'width'")

    def _proc(self, d: s.ProcDecl) -> ir.Proc | None:
        self.graph.enter(d.name)
        scope = Scope()
        params = tuple(self.names.new_local(scope, p.name, self.names.type(p.type), p.span) for p in d.params)
        returns = self.names.type(d.returns) if d.returns is not None else None
        ctx = Ctx(returns, self._procs_current_type)
        body = self.stmts.block(d.body.body, Scope(parent=scope), ctx)
        return ir.Proc(d.name, params, returns, body, d.span)

    @functools.cached_property
    def _procs_current_type(self) -> ir.Type | None:
        """The type of `current` inside procedures: the task struct every thread names (once
        the objects are known; computed once, not once per procedure)."""
        structs = set()
        for d in self.module.decls:
            if isinstance(d, (s.ThreadDecl, s.CommonPathDecl)) and d.current is not None:
                try:
                    ref = self.constants.object_ref(_strip_address(d.current))
                except Bail:
                    continue
                if ref is not None:
                    structs.add(self.names.object_infos[ref.candidates[0]].struct)
        if len(structs) == 1:
            return ir.Type(structs.pop(), True)
        return None

    def _thread(self, d: s.ThreadDecl) -> ir.Thread | None:
        self.graph.enter(f"thread {d.name}")
        return self._thread_body(d.name, d.current, d.body, d.span)

    def _common_path(self, d: s.CommonPathDecl) -> ir.CommonPath:
        self.graph.enter(f"common_path {d.name}")
        given = self._thread_body(f"{d.name} (given)", d.current, d.given, d.given.span)
        path = self._thread_body(d.name, d.current, d.body, d.body.span)
        return ir.CommonPath(d.name, given, path, d.span)

    def _thread_body(self, name: str, current_expr: s.Expr | None, block: s.Block, span: Span) -> ir.Thread:
        """A thread's body (or a common path's block), run as the task `current_expr` names."""
        current = None
        ctype = None
        if current_expr is not None:
            if not isinstance(current_expr, s.AddressOf):
                self.names.err(current_expr.span, "expected '&object' after 'current ='")
            else:
                try:
                    ref = self.constants.object_ref(current_expr.operand)
                except Bail:
                    ref = None
                if ref is None or ref.index is not None or len(ref.candidates) != 1:
                    self.names.err(current_expr.span, "expected '&object' (a declared object) after 'current ='")
                else:
                    current = ref.candidates[0]
                    ctype = ir.Type(self.names.object_infos[current].struct, True)
        ctx = Ctx("thread", ctype)
        body = self.stmts.block(block.body, Scope(), ctx)
        return ir.Thread(name, current, body, span)


def _strip_address(e: s.Expr) -> s.Expr:
    return e.operand if isinstance(e, s.AddressOf) else e


def resolve(module: s.Module, overrides: dict[str, int] | None = None, bound: int | None = None) -> ir.Program:
    return Resolver(module, overrides or {}, bound).run()
