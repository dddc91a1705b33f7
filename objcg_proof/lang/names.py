"""Name binding for the resolve stage: the model's global names and block scopes.

`Names` is the resolver's symbol table: the constants and params, structs, objects, shared
variables and procedures the declarations bind, in declaration order, and the local variables
of each block (`Scope`). It also holds the diagnostics every part of the resolver records
(`err`, `bail`), raised together once resolving ends. `Ctx` says where a statement sits (what
`current`, `return`, `break` and atomic blocks may do there). The builtin tables say which names
the language reserves and which argument of an atomic is its location.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable

from . import ir
from . import syntax as s
from .diagnostics import Diagnostic, NO_SPAN, Span


class Bail(Exception):
    """Stop resolving the current statement; its diagnostic is already recorded."""


# builtin name -> (min args, max args)
EXPR_BUILTINS: dict[str, tuple[int, int]] = {
    "READ_ONCE": (1, 1), "rcu_dereference": (1, 1), "atomic_read": (1, 1),
    "xchg": (2, 2), "cmpxchg": (3, 3), "try_cmpxchg": (3, 3),
    "test_and_set_bit": (2, 2), "test_and_clear_bit": (2, 2),
    "atomic_dec_and_test": (1, 1), "atomic_inc_not_zero": (1, 1),
    "tryget": (1, 1), "tryget_live": (1, 1), "refcount": (1, 1),
    "nondet": (0, 1), "likely": (1, 1), "unlikely": (1, 1),
    "atomic_fetch_add": (2, 2), "atomic_fetch_sub": (2, 2), "atomic_fetch_and": (2, 2),
    "atomic_fetch_or": (2, 2), "atomic_fetch_andnot": (2, 2), "atomic_add_return": (2, 2),
    "atomic_sub_return": (2, 2), "atomic_inc_return": (1, 1), "atomic_dec_return": (1, 1),
    "atomic_xchg": (2, 2), "atomic_cmpxchg": (3, 3), "atomic_try_cmpxchg": (3, 3),
    "smp_load_acquire": (1, 1),
}
STMT_BUILTINS: dict[str, tuple[int, int]] = {
    "WRITE_ONCE": (2, 2), "atomic_set": (2, 2), "set_bit": (2, 2), "clear_bit": (2, 2),
    "atomic_inc": (1, 1), "atomic_dec": (1, 1), "atomic_add": (2, 2), "atomic_sub": (2, 2),
    "atomic_and": (2, 2), "atomic_or": (2, 2), "atomic_andnot": (2, 2),
    "get": (1, 1), "put": (1, 1), "kill": (1, 1), "spin_lock": (1, 1), "spin_unlock": (1, 1),
    "rcu_read_lock": (0, 0), "rcu_read_unlock": (0, 0), "assert": (1, 2), "lost_update": (1, 2),
    "assume": (1, 1), "await": (1, 1), "holds": (1, 1),
    "smp_store_release": (2, 2), "rcu_assign_pointer": (2, 2), "synchronize_rcu": (0, 0),
    "smp_mb": (0, 0), "smp_rmb": (0, 0), "smp_wmb": (0, 0), "barrier": (0, 0),
    "smp_mb__before_atomic": (0, 0), "smp_mb__after_atomic": (0, 0), "smp_mb__after_spinlock": (0, 0),
    "smp_mb__after_unlock_lock": (0, 0),
}
# statement builtins that are fences (ir.Fence): their tag in the LKMM (linux-kernel.bell);
# under sequential consistency a fence does nothing
FENCES: dict[str, str] = {
    "smp_mb": "mb", "smp_rmb": "rmb", "smp_wmb": "wmb", "barrier": "barrier",
    "smp_mb__before_atomic": "before-atomic", "smp_mb__after_atomic": "after-atomic",
    "smp_mb__after_spinlock": "after-spinlock", "smp_mb__after_unlock_lock": "after-unlock-lock",
    "rcu_read_lock": "rcu-lock", "rcu_read_unlock": "rcu-unlock", "synchronize_rcu": "sync-rcu",
}
# atomics whose location argument is written `&x` (the others take the lvalue, like the C macros)
LOCATION_BY_VALUE = {"READ_ONCE", "rcu_dereference", "WRITE_ONCE", "rcu_assign_pointer"}
LOCATION_ARG = {  # which argument is the location
    "READ_ONCE": 0, "rcu_dereference": 0, "atomic_read": 0, "xchg": 0, "cmpxchg": 0, "try_cmpxchg": 0,
    "test_and_set_bit": 1, "test_and_clear_bit": 1, "atomic_dec_and_test": 0, "atomic_inc_not_zero": 0,
    "smp_load_acquire": 0, "smp_store_release": 0, "rcu_assign_pointer": 0,
    "WRITE_ONCE": 0, "atomic_set": 0, "set_bit": 1, "clear_bit": 1, "atomic_inc": 0, "atomic_dec": 0,
    "atomic_add": 1, "atomic_sub": 1, "spin_lock": 0, "spin_unlock": 0,
    # the atomic_t operations, as include/linux/atomic/atomic-instrumented.h declares them:
    # `(int i, atomic_t *v)`, `(atomic_t *v)`, `(atomic_t *v, int old, int new)` ...
    "atomic_and": 1, "atomic_or": 1, "atomic_andnot": 1, "atomic_fetch_add": 1, "atomic_fetch_sub": 1,
    "atomic_fetch_and": 1, "atomic_fetch_or": 1, "atomic_fetch_andnot": 1, "atomic_add_return": 1,
    "atomic_sub_return": 1, "atomic_inc_return": 0, "atomic_dec_return": 0, "atomic_xchg": 0,
    "atomic_cmpxchg": 0, "atomic_try_cmpxchg": 0,
}


@dataclass
class Scope:
    """One block's local variables; lookups continue in the enclosing blocks."""

    names: dict[str, ir.LocalVar] = field(default_factory=dict)
    parent: "Scope | None" = None

    def lookup(self, name: str) -> ir.LocalVar | None:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.names:
                return scope.names[name]
            scope = scope.parent
        return None


@dataclass
class Ctx:
    """Where a statement is: what `current`, `return`, `break` and atomic blocks may do there."""

    proc: ir.Type | None | str   # "thread" in a thread, else the proc's return type (None = void)
    current_type: ir.Type | None
    loop_depth: int = 0
    in_atomic: bool = False


class Names:
    """The model's global names, what each is bound to, and the diagnostics of resolving."""

    def __init__(self, module: s.Module, overrides: dict[str, int]) -> None:
        self.module = module
        self.overrides = dict(overrides)
        self.diags: list[Diagnostic] = []
        self.consts: dict[str, int] = {}
        self.params: dict[str, int] = {}
        self.const_order: list[tuple[str, int, bool]] = []
        self.structs: dict[str, ir.StructInfo] = {}
        self.objects: dict[str, list[int]] = {}        # name -> object indices
        self.object_arrays: set[str] = set()
        self.object_infos: list[ir.ObjectInfo] = []
        self.shared: dict[str, tuple[ir.Type, bool, list[int], bool]] = {}  # type, ghost, locs, array
        self.procs: dict[str, s.ProcDecl] = {}
        self.uid = 0
        self.indirect_span: Span | None = None   # where the model first writes a `struct S **`
        self.layout: ir.Layout | None = None      # once built (lang/layout.py): word addresses for `**`
        # a local array: the variable its name is bound to -> its elements (lang/local_arrays.py)
        self.local_arrays: dict[int, tuple[ir.LocalVar, ...]] = {}

    # ---- diagnostics
    def err(self, span: Span, msg: str, *notes: str) -> None:
        self.diags.append(Diagnostic(span, msg, tuple(notes)))

    def bail(self, span: Span, msg: str, *notes: str) -> Bail:
        self.err(span, msg, *notes)
        return Bail()

    def sorted_diags(self) -> list[Diagnostic]:
        """The diagnostics once each, by file (in the order first met), line and column."""
        seen = set()
        out = []
        for d in self.diags:
            key = (d.span.file, d.span.line, d.span.column, d.message)
            if key not in seen:
                seen.add(key)
                out.append(d)
        files: dict[str, int] = {}
        for d in out:
            files.setdefault(d.span.file, len(files))
        out.sort(key=lambda d: (files[d.span.file], d.span.line, d.span.column))
        return out

    # ---- top-level names and constants
    def declare(self, decls: tuple[s.Decl, ...], value: Callable[[s.Expr], int],
                override: Callable[[s.ConstDecl, int], int]) -> None:
        """Claim every top-level name; a constant's `value` is evaluated as it is declared, and a
        param's `-D` value replaces it (`override` checks it fits the word)."""
        seen: dict[str, Span] = {}

        def claim(name: str, span: Span, what: str) -> bool:
            if name in seen:
                prev = seen[name]
                self.err(span, f"'{name}' is already declared", f"the first declaration is at {prev}")
                return False
            if name in EXPR_BUILTINS or name in STMT_BUILTINS or name in ("current", "NULL", "true", "false"):
                self.err(span, f"'{name}' is a builtin name and cannot be declared as a {what}")
                return False
            seen[name] = span
            return True

        for d in decls:
            if isinstance(d, s.ConstDecl):
                if not claim(d.name, d.span, "constant"):
                    continue
                v = value(d.value)
                if d.is_param and d.name in self.overrides:
                    v = override(d, self.overrides.pop(d.name))
                if d.is_param:
                    self.params[d.name] = v
                self.consts[d.name] = v
                self.const_order.append((d.name, v, d.is_param))
            elif isinstance(d, (s.ObjectDecl, s.SharedDecl)):
                claim(d.name, d.span, "variable")
            elif isinstance(d, s.ProcDecl):
                if claim(d.name, d.span, "procedure"):
                    self.procs[d.name] = d
            elif isinstance(d, s.ThreadDecl):
                claim(d.name, d.span, "thread")
            elif isinstance(d, s.CommonPathDecl):
                claim(d.name, d.span, "common path")
        for name in self.overrides:
            # located at the model's file (no line): with several models (prove, compare), the
            # error says which of them lacks the param
            known = ", ".join(sorted(self.params)) or "none"
            self.err(Span(self.module.path, 0, 0), f"-D {name}: the model has no param named '{name}' (its params: {known})")

    # ---- types, locals and objects
    def type(self, t: s.TypeRef) -> ir.Type:
        """The type a declaration writes: a word, or a pointer to a declared struct."""
        if t.struct_name is None:
            if t.pointer:
                self.err(t.span, "pointers to words are not supported: use a pointer to a struct")
            return ir.WORD
        if t.struct_name not in self.structs and t.struct_name not in self._struct_names:
            self.err(t.span, f"unknown struct '{t.struct_name}'")
        if not t.pointer:
            self.err(t.span, f"a value of type 'struct {t.struct_name}' is not supported: use 'struct {t.struct_name} *'")
        if t.indirect and self.indirect_span is None:
            self.indirect_span = t.span   # the first `**`: where addresses that do not fit are blamed
        return ir.Type(t.struct_name, True, t.indirect)

    @functools.cached_property
    def _struct_names(self) -> set[str]:
        return {d.name for d in self.module.decls if isinstance(d, s.StructDecl)}

    def new_local(self, scope: Scope, name: str, type_: ir.Type, span: Span) -> ir.LocalVar:
        if name in scope.names:
            self.err(span, f"'{name}' is already declared in this block")
        if name in self.consts or name in self.shared or name in self.objects:
            self.err(span, f"local '{name}' would hide the global of the same name: rename it")
        var = self.temp(name, type_)
        scope.names[name] = var
        return var

    def temp(self, name: str, type_: ir.Type) -> ir.LocalVar:
        """A fresh local variable no scope names (the result of a call in `return f(...)`)."""
        self.uid += 1
        return ir.LocalVar(self.uid, name, type_)

    def local_array(self, scope: Scope | None, name: str) -> tuple[ir.LocalVar, ...] | None:
        """The elements of the local array `name` is bound to in `scope`; None if it is not one."""
        var = scope.lookup(name) if scope is not None else None
        return self.local_arrays.get(var.uid) if var is not None else None

    def object_ref(self, e: s.Expr, scope: Scope | None, index: Callable[[s.Expr], ir.Expr]) -> ir.ObjectRef | None:
        """`obj` or `arr[i]` naming a declared object; None if `e` is not one. `index` resolves
        the index (a constant one is bounds-checked here); without a scope no local hides `obj`."""
        if isinstance(e, s.Name) and e.ident in self.objects and (scope is None or scope.lookup(e.ident) is None):
            if e.ident in self.object_arrays:
                raise self.bail(e.span, f"'{e.ident}' is an array of objects: index it, as in '{e.ident}[0]'")
            return ir.ObjectRef(tuple(self.objects[e.ident]), None, e.span)
        if isinstance(e, s.Index) and isinstance(e.base, s.Name) and e.base.ident in self.object_arrays:
            cands = tuple(self.objects[e.base.ident])
            idx = index(e.index)
            if isinstance(idx, ir.Const):
                if not 0 <= idx.value < len(cands):
                    raise self.bail(e.index.span, f"index {idx.value} is out of bounds for '{e.base.ident}[{len(cands)}]'")
                return ir.ObjectRef((cands[idx.value],), None, e.span)
            return ir.ObjectRef(cands, idx, e.span)
        return None
