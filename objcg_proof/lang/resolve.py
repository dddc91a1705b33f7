"""Resolve stage: syntax -> ir.Program.

Binds every name (locals, constants, parameters, shared variables, objects, fields, procedures,
builtins), computes the memory layout (object addresses, one location per shared word), types
every expression, and enforces the atomicity rule: outside `atomic { }` a statement may touch
shared state at most once (ghost variables do not count). All diagnostics are gathered and
raised together as one UserError. Numbers never wrap silently where the user wrote them
(NOTE(numbers)); calls nest no deeper once inlined than the later stages can walk
(`_check_inlined_depth`, NOTE(nesting) in parser.py).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable

from . import ir
from . import syntax as s
from .diagnostics import Diagnostic, NO_SPAN, Span, UserError

DEFAULT_WIDTH = 16
DEFAULT_BOUND = 2
MAX_BOUND = 64
MAX_INLINED_NESTING = 200   # statement levels once calls are inlined (_check_inlined_depth)
EXACT_BITS = 128   # an exactly evaluated count (NOTE(numbers)) beyond this many bits is refused


class _Bail(Exception):
    """Stop resolving the current statement; its diagnostic is already recorded."""


# builtin name -> (min args, max args, statement-only)
EXPR_BUILTINS: dict[str, tuple[int, int]] = {
    "READ_ONCE": (1, 1), "rcu_dereference": (1, 1), "atomic_read": (1, 1),
    "xchg": (2, 2), "cmpxchg": (3, 3), "try_cmpxchg": (3, 3),
    "test_and_set_bit": (2, 2), "test_and_clear_bit": (2, 2),
    "atomic_dec_and_test": (1, 1), "atomic_inc_not_zero": (1, 1),
    "tryget": (1, 1), "tryget_live": (1, 1), "refcount": (1, 1),
    "nondet": (0, 1), "likely": (1, 1), "unlikely": (1, 1),
}
STMT_BUILTINS: dict[str, tuple[int, int]] = {
    "WRITE_ONCE": (2, 2), "atomic_set": (2, 2), "set_bit": (2, 2), "clear_bit": (2, 2),
    "atomic_inc": (1, 1), "atomic_dec": (1, 1), "atomic_add": (2, 2), "atomic_sub": (2, 2),
    "get": (1, 1), "put": (1, 1), "kill": (1, 1), "spin_lock": (1, 1), "spin_unlock": (1, 1),
    "rcu_read_lock": (0, 0), "rcu_read_unlock": (0, 0), "assert": (1, 2), "lost_update": (1, 2),
    "assume": (1, 1), "await": (1, 1),
}
# atomics whose location argument is written `&x` (the others take the lvalue, like the C macros)
_LOCATION_BY_VALUE = {"READ_ONCE", "rcu_dereference", "WRITE_ONCE"}
_LOCATION_ARG = {  # which argument is the location
    "READ_ONCE": 0, "rcu_dereference": 0, "atomic_read": 0, "xchg": 0, "cmpxchg": 0, "try_cmpxchg": 0,
    "test_and_set_bit": 1, "test_and_clear_bit": 1, "atomic_dec_and_test": 0, "atomic_inc_not_zero": 0,
    "WRITE_ONCE": 0, "atomic_set": 0, "set_bit": 1, "clear_bit": 1, "atomic_inc": 0, "atomic_dec": 0,
    "atomic_add": 1, "atomic_sub": 1, "spin_lock": 0, "spin_unlock": 0,
}


@dataclass
class _Scope:
    names: dict[str, ir.LocalVar] = field(default_factory=dict)
    parent: "_Scope | None" = None

    def lookup(self, name: str) -> ir.LocalVar | None:
        scope: _Scope | None = self
        while scope is not None:
            if name in scope.names:
                return scope.names[name]
            scope = scope.parent
        return None


@dataclass
class _Ctx:
    """Where a statement is: what `current`, `return`, `break` and atomic blocks may do there."""

    proc: ir.Type | None | str   # "thread" in a thread, else the proc's return type (None = void)
    current_type: ir.Type | None
    loop_depth: int = 0
    in_atomic: bool = False


class Resolver:
    def __init__(self, module: s.Module, overrides: dict[str, int], bound_override: int | None) -> None:
        self.module = module
        self.overrides = dict(overrides)
        self.bound_override = bound_override
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
        self.calls: dict[str, set[str]] = {}
        self.current_struct: str | None = None
        self.width = DEFAULT_WIDTH
        self._reading_width = False

    # ---- diagnostics
    def err(self, span: Span, msg: str, *notes: str) -> None:
        self.diags.append(Diagnostic(span, msg, tuple(notes)))

    def bail(self, span: Span, msg: str, *notes: str) -> _Bail:
        self.err(span, msg, *notes)
        return _Bail()

    # ---- entry
    def run(self) -> ir.Program:
        decls = self.module.decls
        # the width first: it decides whether every other number fits (NOTE(numbers))
        width_decls = [d for d in decls if isinstance(d, s.WidthDecl)]
        for d in width_decls[1:]:
            self.err(d.span, "'width' is declared more than once")
        if width_decls:
            self._reading_width = True
            w = self._const_or(width_decls[0].value, DEFAULT_WIDTH, exact=True)
            self._reading_width = False
            if not 8 <= w <= 64:
                self.err(width_decls[0].value.span, f"word width must be between 8 and 64 bits, not {w}")
            else:
                self.width = w
        self._declare_names(decls)
        bound, bound_span = self._bound(decls)
        for d in decls:
            if isinstance(d, s.StructDecl):
                self._struct(d)
        self._objects(decls)
        layout = self._layout(decls)
        procs = [self._proc(d) for d in decls if isinstance(d, s.ProcDecl)]
        threads = [self._thread(d) for d in decls if isinstance(d, s.ThreadDecl)]
        paths = [self._common_path(d) for d in decls if isinstance(d, s.CommonPathDecl)]
        if not threads and not self.diags:
            self.err(Span(self.module.path, 1, 1), "the model declares no thread: nothing to check")
        self._check_recursion()
        if not self.diags:
            self._check_inlined_depth(procs, [(f"thread {t.name}", t.body) for t in threads if t is not None]
                                      + [(f"common_path {c.name}", c.given.body + c.path.body) for c in paths if c is not None])
        if self.diags:
            raise UserError(self._sorted_diags())
        kept_procs = tuple(p for p in procs if p is not None)
        kept_threads = tuple(t for t in threads if t is not None)
        return ir.Program(self.module.path, layout, kept_procs, kept_threads, bound, bound_span,
                          tuple(sorted(self.params.items())), _declared_properties(kept_procs, kept_threads),
                          tuple(p for p in paths if p is not None),
                          width_decls[0].value.span if width_decls else None)

    def _sorted_diags(self) -> list[Diagnostic]:
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
    def _declare_names(self, decls: tuple[s.Decl, ...]) -> None:
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
                value = self._const_or(d.value, 0)
                if d.is_param and d.name in self.overrides:
                    value = self._override(d, self.overrides.pop(d.name))
                if d.is_param:
                    self.params[d.name] = value
                self.consts[d.name] = value
                self.const_order.append((d.name, value, d.is_param))
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
            known = ", ".join(sorted(self.params)) or "none"
            self.err(NO_SPAN, f"-D {name}: the model has no param named '{name}' (its params: {known})")

    def _override(self, d: s.ConstDecl, value: int) -> int:
        """A `-D` value for param `d`: it must fit the model's word, never wrap (NOTE(numbers))."""
        top = (1 << self.width) - 1
        if 0 <= value <= top:
            return value
        self.err(NO_SPAN, f"-D {d.name}={value}: param '{d.name}' is a {self.width}-bit word: "
                 f"expected 0 to {top} ({top:#x})", f"'{d.name}' is declared at {d.span}")
        return self._const_or(d.value, 0)

    def _bound(self, decls: tuple[s.Decl, ...]) -> tuple[int, Span]:
        bounds = [d for d in decls if isinstance(d, s.BoundDecl)]
        for d in bounds[1:]:
            self.err(d.span, "'bound' is declared more than once")
        value, span = DEFAULT_BOUND, NO_SPAN
        if bounds:
            value, span = self._const_or(bounds[0].value, DEFAULT_BOUND, exact=True), bounds[0].value.span
            if value < 1:
                self.err(span, f"the bound must be at least 1, not {value}")
        if self.bound_override is not None:
            value, span = self.bound_override, NO_SPAN
        if value > MAX_BOUND:
            self.err(span, f"the bound {value} is larger than the maximum {MAX_BOUND}")
        return value, span

    def _const_or(self, e: s.Expr, default: int, exact: bool = False) -> int:
        try:
            return self.const_eval(e, exact)
        except _Bail:
            return default

    # NOTE(numbers): a number meets a machine word in three places, and never wraps silently.
    # - A literal in the source must fit the model's word (0 to 2^width - 1): `70000` in a 16-bit
    #   model is an error at the literal. What the model computes wraps like C unsigned
    #   arithmetic (`-1`, `~0`, `0xFFFF + 1`).
    # - A count (`width`, `bound`, an array size) is evaluated exactly (exact=True: no wrapping,
    #   `-1` is -1) and then range-checked, so `shared word a[65537]` is refused, not 1 element.
    # - A `-D` value must fit the model's word (`_override`); options.py checks its spelling.
    def const_eval(self, e: s.Expr, exact: bool = False) -> int:
        """Evaluate a constant expression (constants, params, numbers, &object, operators)."""
        mask = -1 if exact else (1 << self.width) - 1
        if isinstance(e, s.Num):
            return e.value if exact else self._literal(e)
        if isinstance(e, s.Null):
            return 0
        if isinstance(e, s.Name):
            if e.ident in self.consts:
                return self.consts[e.ident]
            if self._reading_width:
                raise self.bail(e.span, f"'width' takes numbers only, not '{e.ident}': it is read before any constant")
            raise self.bail(e.span, f"'{e.ident}' is not a constant: expected a constant expression")
        if isinstance(e, s.Unary):
            v = self.const_eval(e.operand, exact)
            return {"!": int(v == 0), "~": ~v & mask, "-": -v & mask}[e.op]
        if isinstance(e, s.Binary):
            a, b = self.const_eval(e.left, exact), self.const_eval(e.right, exact)
            if exact and e.op in ("<<", ">>") and b < 0:
                raise self.bail(e.right.span, f"a shift by a negative amount ({b}) in a constant expression")
            if exact and e.op == "<<" and b >= EXACT_BITS:
                raise self.bail(e.span, f"this constant expression is far out of range (a shift by {b})")
            r = _fold_binary(e.op, a, b, EXACT_BITS if exact else self.width, mask)
            if r is None:
                raise self.bail(e.span, "division by zero in a constant expression")
            if exact and not -(1 << EXACT_BITS) < r < 1 << EXACT_BITS:
                raise self.bail(e.span, f"this constant expression is far out of range ({r.bit_length()} bits)")
            return r
        if isinstance(e, s.Ternary):
            return self.const_eval(e.then, exact) if self.const_eval(e.cond, exact) else self.const_eval(e.other, exact)
        if isinstance(e, s.Cast):
            return self.const_eval(e.operand, exact)
        if isinstance(e, s.AddressOf) and self.object_infos:
            ref = self._object_ref(e.operand, None, None)
            if ref is not None and ref.index is None and len(ref.candidates) == 1:
                return self.object_infos[ref.candidates[0]].address
        raise self.bail(e.span, "expected a constant expression (numbers, constants, NULL, &object and operators)")

    def _literal(self, e: s.Num) -> int:
        """A number written in the source: it must fit the model's word (NOTE(numbers))."""
        top = (1 << self.width) - 1
        if e.value > top:
            raise self.bail(e.span, f"the number {e.value} does not fit in {self.width}-bit words (0 to {top:#x})",
                            "declare a larger 'width', or write the value the word holds")
        return e.value

    # ---- types and objects
    def _type(self, t: s.TypeRef) -> ir.Type:
        if t.struct_name is None:
            if t.pointer:
                self.err(t.span, "pointers to words are not supported: use a pointer to a struct")
            return ir.WORD
        if t.struct_name not in self.structs and t.struct_name not in self._struct_names:
            self.err(t.span, f"unknown struct '{t.struct_name}'")
        if not t.pointer:
            self.err(t.span, f"a value of type 'struct {t.struct_name}' is not supported: use 'struct {t.struct_name} *'")
        return ir.Type(t.struct_name, True)

    @functools.cached_property
    def _struct_names(self) -> set[str]:
        return {d.name for d in self.module.decls if isinstance(d, s.StructDecl)}

    def _struct(self, d: s.StructDecl) -> None:
        if d.name in self.structs:
            self.err(d.span, f"struct '{d.name}' is already declared")
            return
        fields: list[ir.FieldInfo] = []
        for f in d.fields:
            if any(x.name == f.name for x in fields):
                self.err(f.span, f"struct {d.name} already has a field '{f.name}'")
                continue
            if f.name == "refcnt" and d.refcounted:
                self.err(f.span, "'refcnt' is the name of a refcounted struct's percpu_ref; choose another field name")
            fields.append(ir.FieldInfo(f.name, self._type(f.type), f.const))
        self.structs[d.name] = ir.StructInfo(d.name, d.refcounted, tuple(fields))

    def _objects(self, decls: tuple[s.Decl, ...]) -> None:
        overflowed = False
        for d in decls:
            if not isinstance(d, s.ObjectDecl):
                continue
            if d.struct_name not in self.structs:
                self.err(d.span, f"unknown struct '{d.struct_name}'")
                continue
            count = 1
            if d.size is not None:
                count = self._const_or(d.size, 1, exact=True)
                if not 1 <= count <= 64:
                    self.err(d.size.span, f"an object array needs 1 to 64 elements, not {count}")
                    count = 1
                self.object_arrays.add(d.name)
            indices = []
            for i in range(count):
                idx = len(self.object_infos)
                name = f"{d.name}[{i}]" if d.size is not None else d.name
                address = (idx + 1) << ir.TAG_BITS
                self.object_infos.append(ir.ObjectInfo(idx, name, d.struct_name, address, ()))
                indices.append(idx)
            self.objects[d.name] = indices
            top = (len(self.object_infos) + 1) << ir.TAG_BITS
            if top >= 1 << (self.width - 1) and not overflowed:
                overflowed = True   # blamed on the declaration that goes over, once
                self.err(d.span, f"{len(self.object_infos)} objects do not fit in {self.width}-bit words: declare a larger 'width'")

    def _layout(self, decls: tuple[s.Decl, ...]) -> ir.Layout:
        locations: list[ir.Location] = []
        field_locs: dict[tuple[int, str], int] = {}
        objects = list(self.object_infos)

        def add(name: str, type_: ir.Type, init: int, ghost: bool = False, refcount_of: int | None = None) -> int:
            loc = ir.Location(len(locations), name, type_, init, ghost, refcount_of)
            locations.append(loc)
            return loc.id

        for d in decls:
            if not isinstance(d, s.ObjectDecl) or d.name not in self.objects:
                continue
            st = self.structs[d.struct_name]
            inits: dict[str, int] = {}
            for fi in d.inits:
                fdecl = st.field(fi.name)
                if fdecl is None:
                    self.err(fi.span, f"struct {st.name} has no field '{fi.name}'")
                    continue
                inits[fi.name] = self._const_or(fi.value, 0)
            for idx in self.objects[d.name]:
                info = objects[idx]
                consts = []
                for f in st.fields:
                    if f.const:
                        consts.append((f.name, inits.get(f.name, 0)))
                    else:
                        field_locs[(idx, f.name)] = add(f"{info.name}.{f.name}", f.type, inits.get(f.name, 0))
                objects[idx] = ir.ObjectInfo(idx, info.name, info.struct, info.address, tuple(consts))
                if st.refcounted:
                    add(f"{info.name}.refcnt", ir.WORD, 1, refcount_of=idx)
        self.object_infos = objects
        globals_: dict[str, tuple[int, ...]] = {}
        for d in decls:
            if not isinstance(d, s.SharedDecl):
                continue
            t = self._type(d.type)
            count = 1
            if d.size is not None:
                count = self._const_or(d.size, 1, exact=True)
                if not 1 <= count <= 64:
                    self.err(d.size.span, f"a shared array needs 1 to 64 elements, not {count}")
                    count = 1
            values = [0] * count
            if isinstance(d.init, tuple):
                if d.size is None:
                    self.err(d.span, f"'{d.name}' is not an array: a brace initializer needs '[size]'")
                elif len(d.init) > count:
                    self.err(d.init[count].span, f"too many initializers for '{d.name}[{count}]'")
                for i, e in enumerate(d.init[:count]):
                    values[i] = self._const_or(e, 0)
            elif d.init is not None:
                v = self._const_or(d.init, 0)
                values = [v] * count
            ids = []
            for i in range(count):
                name = f"{d.name}[{i}]" if d.size is not None else d.name
                ids.append(add(name, t, values[i], ghost=d.ghost))
            globals_[d.name] = tuple(ids)
            self.shared[d.name] = (t, d.ghost, ids, d.size is not None)
        tags = []
        seen_values = set()
        for name, value, is_param in sorted(self.const_order, key=lambda c: ("FLAG" not in c[0], "BIT" in c[0])):
            if not is_param and 0 < value < (1 << ir.TAG_BITS) and value & (value - 1) == 0 and value not in seen_values:
                seen_values.add(value)
                tags.append((value, name))
        return ir.Layout(self.width, tuple(self.object_infos), tuple(locations), tuple(self.structs.values()),
                         tuple(sorted(field_locs.items())), tuple(globals_.items()), tuple(tags))

    # ---- procedures and threads
    def _new_local(self, scope: _Scope, name: str, type_: ir.Type, span: Span) -> ir.LocalVar:
        if name in scope.names:
            self.err(span, f"'{name}' is already declared in this block")
        if name in self.consts or name in self.shared or name in self.objects:
            self.err(span, f"local '{name}' would hide the global of the same name: rename it")
        self.uid += 1
        var = ir.LocalVar(self.uid, name, type_)
        scope.names[name] = var
        return var

    def _proc(self, d: s.ProcDecl) -> ir.Proc | None:
        self.calls.setdefault(d.name, set())
        self._current_proc = d.name
        scope = _Scope()
        params = tuple(self._new_local(scope, p.name, self._type(p.type), p.span) for p in d.params)
        returns = self._type(d.returns) if d.returns is not None else None
        ctx = _Ctx(returns, self._procs_current_type)
        body = self._block(d.body.body, _Scope(parent=scope), ctx)
        return ir.Proc(d.name, params, returns, body, d.span)

    @functools.cached_property
    def _procs_current_type(self) -> ir.Type | None:
        """The type of `current` inside procedures: the task struct every thread names (once
        the objects are known; computed once, not once per procedure)."""
        structs = set()
        for d in self.module.decls:
            if isinstance(d, (s.ThreadDecl, s.CommonPathDecl)) and d.current is not None:
                try:
                    ref = self._object_ref(_strip_address(d.current), None, None)
                except _Bail:
                    continue
                if ref is not None:
                    structs.add(self.object_infos[ref.candidates[0]].struct)
        if len(structs) == 1:
            return ir.Type(structs.pop(), True)
        return None

    def _thread(self, d: s.ThreadDecl) -> ir.Thread | None:
        self._current_proc = f"thread {d.name}"
        return self._thread_body(d.name, d.current, d.body, d.span)

    def _common_path(self, d: s.CommonPathDecl) -> ir.CommonPath:
        self._current_proc = f"common_path {d.name}"
        given = self._thread_body(f"{d.name} (given)", d.current, d.given, d.given.span)
        path = self._thread_body(d.name, d.current, d.body, d.body.span)
        return ir.CommonPath(d.name, given, path, d.span)

    def _thread_body(self, name: str, current_expr: s.Expr | None, block: s.Block, span: Span) -> ir.Thread:
        """A thread's body (or a common path's block), run as the task `current_expr` names."""
        current = None
        ctype = None
        if current_expr is not None:
            if not isinstance(current_expr, s.AddressOf):
                self.err(current_expr.span, "expected '&object' after 'current ='")
            else:
                try:
                    ref = self._object_ref(current_expr.operand, None, None)
                except _Bail:
                    ref = None
                if ref is None or ref.index is not None or len(ref.candidates) != 1:
                    self.err(current_expr.span, "expected '&object' (a declared object) after 'current ='")
                else:
                    current = ref.candidates[0]
                    ctype = ir.Type(self.object_infos[current].struct, True)
        ctx = _Ctx("thread", ctype)
        body = self._block(block.body, _Scope(), ctx)
        return ir.Thread(name, current, body, span)

    def _check_recursion(self) -> None:
        """Recursion is an error (procedures are inlined). Iterative: a chain of a thousand
        procedures must not exhaust Python's stack here."""
        state: dict[str, int] = {}
        for root in sorted(self.procs):
            if state.get(root):
                continue
            state[root] = 1
            path = [root]
            todo = [iter(sorted(self.calls.get(root, ())))]
            while todo:
                q = next(todo[-1], None)
                if q is None:
                    state[path.pop()] = 2
                    todo.pop()
                elif q in self.procs and state.get(q) == 1:
                    cycle = path[path.index(q):] + [q]
                    self.err(self.procs[q].span, "procedures are inlined, so recursion is not supported: " + " -> ".join(cycle))
                elif q in self.procs and not state.get(q):
                    state[q] = 1
                    path.append(q)
                    todo.append(iter(sorted(self.calls.get(q, ()))))

    def _check_inlined_depth(self, procs: list[ir.Proc | None], bodies: list[tuple[str, tuple[ir.Stmt, ...]]]) -> None:
        """Blocks and calls nest at most MAX_INLINED_NESTING levels once procedures are inlined
        (NOTE(nesting) in parser.py: the later stages recurse once per level). Each procedure's
        height is computed once, callees first, without recursion."""
        by_name = {p.name: p for p in procs if p is not None}
        nests = {name: _nesting(p.body) for name, p in by_name.items()}
        height: dict[str, tuple[int, tuple[str, ...]]] = {}   # levels, the deepest call chain
        for root in by_name:
            stack = [root]
            while stack:
                name = stack[-1]
                if name in height:
                    stack.pop()
                    continue
                waiting = [c.proc for _, c in nests[name][1] if c.proc in by_name and c.proc not in height]
                if waiting:
                    stack.extend(waiting)
                    continue
                stack.pop()
                best: tuple[int, tuple[str, ...]] = (nests[name][0], (name,))
                for depth, call in nests[name][1]:
                    if call.proc in height and depth + height[call.proc][0] > best[0]:
                        best = (depth + height[call.proc][0], (name,) + height[call.proc][1])
                height[name] = best
        for owner, body in bodies:
            for depth, call in _nesting(body)[1]:
                if call.proc not in height:
                    continue
                levels, chain = height[call.proc]
                if depth + levels > MAX_INLINED_NESTING:
                    shown = " -> ".join((owner,) + chain[:8]) + (" -> ..." if len(chain) > 8 else "")
                    self.err(call.span, f"call chain too deep: once procedures are inlined, blocks and calls nest "
                             f"{depth + levels} levels deep here (the limit is {MAX_INLINED_NESTING})",
                             f"the deepest chain ({len(chain)} calls): {shown}")
                    return

    # ---- statements
    def _block(self, stmts: tuple[s.Stmt, ...], scope: _Scope, ctx: _Ctx) -> tuple[ir.Stmt, ...]:
        out: list[ir.Stmt] = []
        for st in stmts:
            try:
                out.extend(self._stmt(st, scope, ctx))
            except _Bail:
                pass
        return tuple(out)

    def _sub(self, st: s.Stmt, scope: _Scope, ctx: _Ctx) -> tuple[ir.Stmt, ...]:
        body = st.body if isinstance(st, s.Block) else (st,)
        return self._block(body, _Scope(parent=scope), ctx)

    def _stmt(self, st: s.Stmt, scope: _Scope, ctx: _Ctx) -> list[ir.Stmt]:
        if isinstance(st, s.Block):
            return [ir.Seq(self._block(st.body, _Scope(parent=scope), ctx), st.span)]
        if isinstance(st, s.Empty):
            return []
        if isinstance(st, s.LocalDecl):
            out: list[ir.Stmt] = []
            for dcl in st.declarators:
                t = self._type(dcl.type)
                init = dcl.init
                if isinstance(init, s.Call) and init.func in self.procs:
                    call = self._call_proc(init, scope, ctx)
                    var = self._new_local(scope, dcl.name, t, dcl.span)
                    out.append(ir.CallProc(call.proc, call.args, var, dcl.span))
                    self._check_proc_value(init, dcl.span)
                    continue
                value = self._expr(init, scope, ctx) if init is not None else ir.Const(0, t)
                var = self._new_local(scope, dcl.name, t, dcl.span)
                out.append(self._atomicity(ir.AssignLocal(var, value, dcl.span), ctx))
            return out
        if isinstance(st, s.Assign):
            return [self._assign(st, scope, ctx)]
        if isinstance(st, s.ExprStmt):
            return [self._expr_stmt(st, scope, ctx)]
        if isinstance(st, s.If):
            cond = self._expr(st.cond, scope, ctx)
            self._atomicity(ir.Eval(cond, st.cond.span), ctx)
            other = self._sub(st.other, scope, ctx) if st.other is not None else ()
            return [ir.If(cond, self._sub(st.then, scope, ctx), other, st.span)]
        if isinstance(st, (s.While, s.DoWhile, s.For)):
            return self._loop(st, scope, ctx)
        if isinstance(st, (s.Break, s.Continue)):
            word = "break" if isinstance(st, s.Break) else "continue"
            if ctx.loop_depth == 0:
                raise self.bail(st.span, f"'{word}' outside a loop")
            return [ir.Break(st.span) if isinstance(st, s.Break) else ir.Continue(st.span)]
        if isinstance(st, s.Return):
            return self._return(st, scope, ctx)
        if isinstance(st, s.Atomic):
            if ctx.in_atomic:
                return [ir.Seq(self._block(st.body.body, _Scope(parent=scope), ctx), st.span)]
            inner = _Ctx(ctx.proc, ctx.current_type, 0, True)
            body = self._block(st.body.body, _Scope(parent=scope), inner)
            for i, b in enumerate(ir.flatten(body)):
                if isinstance(b, ir.Await) and i != 0:
                    self.err(b.span, "'await' inside an atomic block must be its first statement")
            return [ir.Atomic(body, st.span)]
        raise AssertionError(f"unhandled statement {type(st).__name__}")

    def _loop(self, st: s.While | s.DoWhile | s.For, scope: _Scope, ctx: _Ctx) -> list[ir.Stmt]:
        if ctx.in_atomic:
            raise self.bail(st.span, "loops are not allowed inside an atomic block (an atomic step must be straight-line code)")
        inner = _Ctx(ctx.proc, ctx.current_type, ctx.loop_depth + 1, False)
        if isinstance(st, s.For):
            loop_scope = _Scope(parent=scope)
            init = self._stmt(st.init, loop_scope, ctx) if st.init is not None else []
            cond = self._expr(st.cond, loop_scope, ctx) if st.cond is not None else ir.Const(1)
            self._atomicity(ir.Eval(cond, st.span), ctx)
            body = self._sub(st.body, loop_scope, inner)
            step = tuple(self._stmt(st.step, loop_scope, ctx)) if st.step is not None else ()
            return [ir.Seq(tuple(init) + (ir.Loop(cond, body, step, True, st.span),), st.span)]
        cond = self._expr(st.cond, scope, ctx)
        self._atomicity(ir.Eval(cond, st.cond.span), ctx)
        body = self._sub(st.body, scope, inner)
        return [ir.Loop(cond, body, (), isinstance(st, s.While), st.span)]

    def _return(self, st: s.Return, scope: _Scope, ctx: _Ctx) -> list[ir.Stmt]:
        if ctx.in_atomic:
            raise self.bail(st.span, "'return' is not allowed inside an atomic block")
        if ctx.proc == "thread":
            if st.value is not None:
                raise self.bail(st.value.span, "a thread's 'return' takes no value")
            return [ir.Return(None, st.span)]
        rtype = ctx.proc
        if st.value is None:
            if rtype is not None:
                raise self.bail(st.span, "this procedure returns a value: expected 'return <expression>;'")
            return [ir.Return(None, st.span)]
        if rtype is None:
            raise self.bail(st.value.span, "a void procedure cannot return a value")
        if isinstance(st.value, s.Call) and st.value.func in self.procs:
            call = self._call_proc(st.value, scope, ctx)
            self.uid += 1
            tmp = ir.LocalVar(self.uid, f"{st.value.func}()", rtype if isinstance(rtype, ir.Type) else ir.WORD)
            self._check_proc_value(st.value, st.span)
            return [ir.CallProc(call.proc, call.args, tmp, st.span), ir.Return(ir.Local(tmp, st.span), st.span)]
        value = self._expr(st.value, scope, ctx)
        self._atomicity(ir.Eval(value, st.span), ctx)
        return [ir.Return(value, st.span)]

    def _assign(self, st: s.Assign, scope: _Scope, ctx: _Ctx) -> ir.Stmt:
        target = st.target
        if isinstance(st.value, s.Call) and st.value.func in self.procs:
            call = self._call_proc(st.value, scope, ctx)
            self._check_proc_value(st.value, st.span)
            if isinstance(target, s.Name) and scope.lookup(target.ident) is not None:
                return ir.CallProc(call.proc, call.args, scope.lookup(target.ident), st.span)
            raise self.bail(target.span, "a procedure's result can only be assigned to a local variable")
        value = self._expr(st.value, scope, ctx)
        if isinstance(target, s.Name) and scope.lookup(target.ident) is not None:
            return self._atomicity(ir.AssignLocal(scope.lookup(target.ident), value, st.span), ctx)  # type: ignore[arg-type]
        loc = self._location(target, scope, ctx, writing=True)
        return self._atomicity(ir.AssignShared(loc, value, "plain", st.span), ctx)

    def _check_proc_value(self, call: s.Call, span: Span) -> None:
        proc = self.procs[call.func]
        if proc.returns is None:
            self.err(span, f"procedure '{call.func}' returns no value (it is declared void)")

    def _call_proc(self, call: s.Call, scope: _Scope, ctx: _Ctx) -> ir.CallProc:
        proc = self.procs[call.func]
        self.calls.setdefault(getattr(self, "_current_proc", ""), set()).add(call.func)
        if len(call.args) != len(proc.params):
            raise self.bail(call.span, f"procedure '{call.func}' takes {len(proc.params)} argument(s), {len(call.args)} given")
        args = tuple(self._expr(a, scope, ctx) for a in call.args)
        for a in args:
            self._atomicity(ir.Eval(a, call.span), ctx)
        return ir.CallProc(call.func, args, None, call.span)

    def _expr_stmt(self, st: s.ExprStmt, scope: _Scope, ctx: _Ctx) -> ir.Stmt:
        e = st.expr
        if isinstance(e, s.Call):
            if e.func in self.procs:
                return self._call_proc(e, scope, ctx)
            if e.func in STMT_BUILTINS:
                return self._stmt_builtin(e, scope, ctx)
        value = self._expr(e, scope, ctx)
        return self._atomicity(ir.Eval(value, st.span), ctx)

    def _arity(self, call: s.Call, table: dict[str, tuple[int, int]]) -> None:
        lo, hi = table[call.func]
        n = len(call.args)
        if not lo <= n <= hi:
            want = str(lo) if lo == hi else f"{lo} or {hi}"
            raise self.bail(call.span, f"'{call.func}' takes {want} argument(s), {n} given")

    def _stmt_builtin(self, call: s.Call, scope: _Scope, ctx: _Ctx) -> ir.Stmt:
        self._arity(call, STMT_BUILTINS)
        f, args, span = call.func, call.args, call.span
        if f in ("rcu_read_lock", "rcu_read_unlock"):
            return ir.Seq((), span)  # RCU keeps released objects' memory valid: no step (docs/semantics.md)
        if f in ("assert", "lost_update"):
            label = ""
            if len(args) == 2:
                if not isinstance(args[1], s.Str):
                    raise self.bail(args[1].span, f"the second argument of '{f}' must be a string label")
                label = args[1].text
            cond = self._expr(args[0], scope, ctx)
            return self._atomicity(ir.Check(f, label, cond, span), ctx)
        if f == "assume":
            return self._atomicity(ir.Assume(self._expr(args[0], scope, ctx), span), ctx)
        if f == "await":
            return self._atomicity(ir.Await(self._expr(args[0], scope, ctx), span), ctx)
        if f in ("get", "put", "kill"):
            return self._atomicity(ir.Eval(self._ref_op(call, scope, ctx), span), ctx)
        loc = self._location_arg(call, scope, ctx)
        if f in ("WRITE_ONCE", "atomic_set"):
            value = self._expr(args[1], scope, ctx)
            return self._atomicity(ir.AssignShared(loc, value, "once", span), ctx)
        others = tuple(self._expr(a, scope, ctx) for i, a in enumerate(args) if i != _LOCATION_ARG[f])
        if f in ("spin_lock", "spin_unlock") and loc.ghost:
            pass
        return self._atomicity(ir.Eval(ir.AtomicOp(f, loc, others, None, ir.WORD, span), span), ctx)

    def _location_arg(self, call: s.Call, scope: _Scope, ctx: _Ctx) -> ir.SharedLoc:
        arg = call.args[_LOCATION_ARG[call.func]]
        if call.func in _LOCATION_BY_VALUE:
            if isinstance(arg, s.AddressOf):
                raise self.bail(arg.span, f"'{call.func}' takes the location itself, like the C macro: drop the '&'")
            return self._location(arg, scope, ctx, writing=call.func == "WRITE_ONCE")
        if not isinstance(arg, s.AddressOf):
            raise self.bail(arg.span, f"'{call.func}' expects the address of a shared location, like '&x' or '&task->objcg'")
        return self._location(arg.operand, scope, ctx, writing=True)

    def _ref_op(self, call: s.Call, scope: _Scope, ctx: _Ctx) -> ir.RefOp:
        ptr = self._expr(call.args[0], scope, ctx)
        t = _type_of(ptr)
        if not t.pointer or t.struct_name is None:
            raise self.bail(call.args[0].span, f"'{call.func}' needs a pointer to an object of a refcounted struct, not a {t}")
        st = self.structs.get(t.struct_name)
        if st is None or not st.refcounted:
            raise self.bail(call.args[0].span, f"'{call.func}' on a non-refcounted object: struct {t.struct_name} is not declared 'refcounted'")
        self._need_objects(st.name, call.args[0].span, f"{call.func}()")
        return ir.RefOp(call.func, ptr, t.struct_name, call.span)

    def _atomicity(self, st: ir.Stmt, ctx: _Ctx) -> ir.Stmt:
        """Outside atomic blocks a statement touches shared state at most once (ghosts aside)."""
        if ctx.in_atomic:
            return st
        accesses = _shared_accesses(st)
        if len(accesses) > 1:
            names = ", ".join(accesses)
            self.err(st.span, f"this statement makes {len(accesses)} shared accesses ({names}); "
                     "each statement is one atomic step and may touch shared state once",
                     "split it into one statement per access, or wrap it in 'atomic { }' if the C really does it in one step")
        return st

    # ---- expressions
    def _expr(self, e: s.Expr, scope: _Scope, ctx: _Ctx) -> ir.Expr:
        span = e.span
        if isinstance(e, s.Num):
            return ir.Const(self._literal(e), ir.WORD, span)
        if isinstance(e, s.Null):
            return ir.Const(0, ir.NULL_PTR, span)
        if isinstance(e, s.Str):
            raise self.bail(span, "a string is only allowed as the label of assert() or lost_update()")
        if isinstance(e, s.Name):
            return self._name(e, scope, ctx)
        if isinstance(e, s.Unary):
            v = self._expr(e.operand, scope, ctx)
            return ir.Unary(e.op, v, ir.WORD, span)
        if isinstance(e, s.Binary):
            left, right = self._expr(e.left, scope, ctx), self._expr(e.right, scope, ctx)
            return ir.Binary(e.op, left, right, _binary_type(e.op, _type_of(left), _type_of(right)), span)
        if isinstance(e, s.Ternary):
            c, a, b = (self._expr(x, scope, ctx) for x in (e.cond, e.then, e.other))
            return ir.Ternary(c, a, b, _type_of(a) if _type_of(a) != ir.NULL_PTR else _type_of(b), span)
        if isinstance(e, s.Cast):
            v = self._expr(e.operand, scope, ctx)
            t = self._type(e.type)
            return ir.Binary("|", v, ir.Const(0), t, span)
        if isinstance(e, s.AddressOf):
            ref = self._object_ref(e.operand, scope, ctx)
            if ref is None:
                raise self.bail(span, "'&' of a shared variable or field is only allowed as the location argument of an atomic operation")
            return ir.AddressOf(ref, ir.Type(self.object_infos[ref.candidates[0]].struct, True), span)
        if isinstance(e, (s.FieldAccess, s.ArrowAccess, s.Index)):
            loc = self._location(e, scope, ctx, writing=False)
            if isinstance(loc, ir.ConstField):
                return loc
            return ir.Read(loc, "plain", span)
        if isinstance(e, s.Call):
            return self._call_expr(e, scope, ctx)
        raise AssertionError(f"unhandled expression {type(e).__name__}")

    def _name(self, e: s.Name, scope: _Scope, ctx: _Ctx) -> ir.Expr:
        var = scope.lookup(e.ident)
        if var is not None:
            return ir.Local(var, e.span)
        if e.ident == "current":
            if ctx.current_type is None:
                raise self.bail(e.span, "'current' is only defined in a thread declared with '(current = &task)'"
                                if ctx.proc == "thread" else "'current' needs every thread to name a task of one struct type")
            return ir.Current(ctx.current_type, e.span)
        if e.ident in self.consts:
            return ir.Const(self.consts[e.ident], ir.WORD, e.span)
        if e.ident in self.shared:
            t, ghost, ids, is_array = self.shared[e.ident]
            if is_array:
                raise self.bail(e.span, f"'{e.ident}' is an array: index it, as in '{e.ident}[0]'")
            return ir.Read(ir.SharedLoc(t, ghost, e.ident, tuple(ids), None, span=e.span), "plain", e.span)
        if e.ident in self.objects:
            raise self.bail(e.span, f"'{e.ident}' is an object: use '&{e.ident}' for its address or '{e.ident}.field' for a field")
        if e.ident in self.procs:
            raise self.bail(e.span, f"'{e.ident}' is a procedure: call it as '{e.ident}(...)'")
        raise self.bail(e.span, f"unknown name '{e.ident}'")

    def _object_ref(self, e: s.Expr, scope: _Scope | None, ctx: _Ctx | None) -> ir.ObjectRef | None:
        """`obj` or `arr[i]` naming a declared object; None if `e` is not one."""
        if isinstance(e, s.Name) and e.ident in self.objects and (scope is None or scope.lookup(e.ident) is None):
            if e.ident in self.object_arrays:
                raise self.bail(e.span, f"'{e.ident}' is an array of objects: index it, as in '{e.ident}[0]'")
            return ir.ObjectRef(tuple(self.objects[e.ident]), None, e.span)
        if isinstance(e, s.Index) and isinstance(e.base, s.Name) and e.base.ident in self.object_arrays:
            cands = tuple(self.objects[e.base.ident])
            if scope is None or ctx is None:
                i = self.const_eval(e.index)
                if not 0 <= i < len(cands):
                    raise self.bail(e.index.span, f"index {i} is out of bounds for '{e.base.ident}[{len(cands)}]'")
                return ir.ObjectRef((cands[i],), None, e.span)
            idx = self._expr(e.index, scope, ctx)
            if isinstance(idx, ir.Const):
                if not 0 <= idx.value < len(cands):
                    raise self.bail(e.index.span, f"index {idx.value} is out of bounds for '{e.base.ident}[{len(cands)}]'")
                return ir.ObjectRef((cands[idx.value],), None, e.span)
            return ir.ObjectRef(cands, idx, e.span)
        return None

    def _location(self, e: s.Expr, scope: _Scope, ctx: _Ctx, writing: bool) -> ir.SharedLoc:
        """A shared memory word named by `e` (or a ConstField when reading a const field)."""
        span = e.span
        if isinstance(e, s.Name):
            if scope.lookup(e.ident) is not None:
                raise self.bail(span, f"'{e.ident}' is a local variable, not shared state")
            if e.ident in self.shared:
                t, ghost, ids, is_array = self.shared[e.ident]
                if is_array:
                    raise self.bail(span, f"'{e.ident}' is an array: index it, as in '{e.ident}[0]'")
                return ir.SharedLoc(t, ghost, e.ident, tuple(ids), None, span=span)
            self._name(e, scope, ctx)
            raise self.bail(span, f"'{e.ident}' is not a shared variable or field")
        if isinstance(e, s.Index):
            if isinstance(e.base, s.Name) and e.base.ident in self.shared and self.shared[e.base.ident][3]:
                t, ghost, ids, _ = self.shared[e.base.ident]
                idx = self._expr(e.index, scope, ctx)
                if isinstance(idx, ir.Const):
                    if not 0 <= idx.value < len(ids):
                        raise self.bail(e.index.span, f"index {idx.value} is out of bounds for '{e.base.ident}[{len(ids)}]'")
                    return ir.SharedLoc(t, ghost, e.base.ident, (ids[idx.value],), None, span=span)
                return ir.SharedLoc(t, ghost, e.base.ident, tuple(ids), idx, span=span)
            raise self.bail(span, "only shared arrays and object arrays can be indexed")
        if isinstance(e, s.FieldAccess):
            ref = self._object_ref(e.base, scope, ctx)
            if ref is None:
                raise self.bail(e.base.span, "'.' needs a declared object on its left (use '->' through a pointer)")
            st = self.structs[self.object_infos[ref.candidates[0]].struct]
            return self._field_loc(st, e.name, span, writing, obj=ref)  # type: ignore[return-value]
        if isinstance(e, s.ArrowAccess):
            ptr = self._expr(e.base, scope, ctx)
            t = _type_of(ptr)
            if not t.pointer or t.struct_name is None:
                raise self.bail(e.base.span, f"'->' needs a pointer to a struct, not a {t}",
                                "cast it, as in '((struct S *)p)->field'")
            st = self.structs.get(t.struct_name)
            if st is None:
                raise self.bail(e.base.span, f"'->' through a pointer to struct '{t.struct_name}', which is not declared")
            self._need_objects(st.name, e.base.span, f"'->{e.name}'")
            return self._field_loc(st, e.name, span, writing, pointer=ptr)  # type: ignore[return-value]
        raise self.bail(span, "expected a shared location: a shared variable, 'obj.field' or 'ptr->field'")

    def _need_objects(self, struct: str, span: Span, what: str) -> None:
        """A pointer to a struct no object has can never be valid: every access through one
        would fail, so the model is refused rather than checked (the engines need at least one
        candidate object to name the location an access may reach)."""
        if not any(o.struct == struct for o in self.object_infos):
            raise self.bail(span, f"{what} through a 'struct {struct} *', but no object of struct {struct} is declared, "
                                  "so the pointer can never be valid", f"declare one, as in 'object struct {struct} x;'")

    def _field_loc(self, st: ir.StructInfo, name: str, span: Span, writing: bool,
                   obj: ir.ObjectRef | None = None, pointer: ir.Expr | None = None) -> ir.SharedLoc | ir.ConstField:
        f = st.field(name)
        if f is None:
            known = ", ".join(x.name for x in st.fields) or "none"
            raise self.bail(span, f"struct {st.name} has no field '{name}' (its fields: {known})")
        if f.const:
            if writing:
                raise self.bail(span, f"field '{name}' of struct {st.name} is declared const and cannot be written")
            return ir.ConstField(obj, pointer, st.name, name, f.type, span)
        return ir.SharedLoc(f.type, False, "", (), None, obj, pointer, st.name, name, span)

    def _call_expr(self, call: s.Call, scope: _Scope, ctx: _Ctx) -> ir.Expr:
        f, args, span = call.func, call.args, call.span
        if f in self.procs:
            raise self.bail(span, f"a call of procedure '{f}' must be a statement or the whole right-hand side of an assignment or return")
        if f in STMT_BUILTINS:
            raise self.bail(span, f"'{f}' is a statement and has no value")
        if f not in EXPR_BUILTINS:
            raise self.bail(span, f"unknown procedure or builtin '{f}'")
        self._arity(call, EXPR_BUILTINS)
        if f in ("likely", "unlikely"):
            return self._expr(args[0], scope, ctx)
        if f == "nondet":
            limit = None
            if args:
                limit = self.const_eval(args[0])
                if limit < 1:
                    raise self.bail(args[0].span, "nondet(n) needs n >= 1")
            return ir.Nondet(limit, span)
        if f in ("tryget", "tryget_live", "refcount"):
            return self._ref_op(call, scope, ctx)
        loc = self._location_arg(call, scope, ctx)
        if f in ("READ_ONCE", "rcu_dereference", "atomic_read"):
            return ir.Read(loc, "once", span)
        out = None
        others: list[ir.Expr] = []
        for i, a in enumerate(args):
            if i == _LOCATION_ARG[f]:
                continue
            if f == "try_cmpxchg" and i == 1:
                if not (isinstance(a, s.AddressOf) and isinstance(a.operand, s.Name) and scope.lookup(a.operand.ident)):
                    raise self.bail(a.span, "try_cmpxchg's second argument must be the address of a local variable, as in '&old'")
                out = scope.lookup(a.operand.ident)
                others.append(ir.Local(out, a.span))  # type: ignore[arg-type]
                continue
            others.append(self._expr(a, scope, ctx))
        rtype = loc.type if f in ("xchg", "cmpxchg") else ir.WORD
        return ir.AtomicOp(f, loc, tuple(others), out, rtype, span)


def _declared_properties(procs: tuple[ir.Proc, ...], threads: tuple[ir.Thread, ...]) -> tuple[tuple[str, str], ...]:
    """The assert/lost_update properties of every check the threads can reach through calls."""
    by_name = {p.name: p for p in procs}
    found: list[tuple[int, str, int, str, str]] = []
    visited: set[str] = set()

    def walk(stmts: tuple[ir.Stmt, ...]) -> None:
        for st in stmts:
            if isinstance(st, ir.Check):
                name = ir.property_name(st.kind, st.label, st.span)
                found.append((0, st.span.file, st.span.line, st.kind, name))
            elif isinstance(st, ir.CallProc):
                if st.proc not in visited and st.proc in by_name:
                    visited.add(st.proc)
                    walk(by_name[st.proc].body)
            elif isinstance(st, (ir.Seq, ir.Atomic)):
                walk(st.body)
            elif isinstance(st, ir.If):
                walk(st.then)
                walk(st.other)
            elif isinstance(st, ir.Loop):
                walk(st.body)
                walk(st.step)

    for t in threads:
        walk(t.body)
    out: list[tuple[str, str]] = []
    for _, _, _, kind, name in found:
        if (kind, name) not in out:
            out.append((kind, name))
    return tuple(out)


def _nesting(body: tuple[ir.Stmt, ...]) -> tuple[int, list[tuple[int, ir.CallProc]]]:
    """How many statement levels `body` nests, and each procedure call with its level."""
    deepest, calls = 0, []
    stack = [(body, 1)]
    while stack:
        stmts, depth = stack.pop()
        for st in stmts:
            deepest = max(deepest, depth)
            if isinstance(st, ir.CallProc):
                calls.append((depth, st))
            elif isinstance(st, (ir.Seq, ir.Atomic)):
                stack.append((st.body, depth + 1))
            elif isinstance(st, ir.If):
                stack += [(st.then, depth + 1), (st.other, depth + 1)]
            elif isinstance(st, ir.Loop):
                stack += [(st.body, depth + 1), (st.step, depth + 1)]
    return deepest, calls


def _strip_address(e: s.Expr) -> s.Expr:
    return e.operand if isinstance(e, s.AddressOf) else e


def _type_of(e: ir.Expr) -> ir.Type:
    if isinstance(e, ir.Local):
        return e.var.type
    if isinstance(e, ir.Read):
        return e.loc.type
    if isinstance(e, (ir.Const, ir.Current, ir.Unary, ir.Binary, ir.Ternary, ir.AddressOf, ir.ConstField, ir.AtomicOp)):
        return e.type
    return ir.WORD


def _binary_type(op: str, a: ir.Type, b: ir.Type) -> ir.Type:
    if op in ("&", "|", "^", "+", "-"):
        if a.pointer and a.struct_name:
            return a
        if b.pointer and b.struct_name and op != "-":
            return b
    return ir.WORD


def _fold_binary(op: str, a: int, b: int, width: int, mask: int) -> int | None:
    """`a op b` in `width`-bit words (`mask` is 2^width - 1), or exactly (mask -1: no wrap)."""
    table: dict[str, Callable[[int, int], int]] = {
        "+": lambda x, y: (x + y) & mask, "-": lambda x, y: (x - y) & mask, "*": lambda x, y: (x * y) & mask,
        "&": lambda x, y: x & y, "|": lambda x, y: x | y, "^": lambda x, y: x ^ y,
        "<<": lambda x, y: (x << y) & mask if y < width else 0, ">>": lambda x, y: x >> y if y < width else 0,
        "==": lambda x, y: int(x == y), "!=": lambda x, y: int(x != y), "<": lambda x, y: int(x < y),
        "<=": lambda x, y: int(x <= y), ">": lambda x, y: int(x > y), ">=": lambda x, y: int(x >= y),
        "&&": lambda x, y: int(bool(x) and bool(y)), "||": lambda x, y: int(bool(x) or bool(y)),
    }
    if op in ("/", "%"):
        if b == 0:
            return None
        return a // b if op == "/" else a % b
    return table[op](a, b)


def _shared_accesses(st: ir.Stmt) -> list[str]:
    """Names of the non-ghost shared accesses a simple statement makes, in evaluation order."""
    found: list[str] = []

    def loc_name(loc: ir.SharedLoc) -> str:
        if loc.name:
            return loc.name
        return f"{loc.struct}.{loc.field}" if loc.pointer is None else f"->{loc.field}"

    def walk_loc(loc: ir.SharedLoc) -> None:
        for sub in (loc.index, loc.pointer, loc.obj.index if loc.obj else None):
            if sub is not None:
                walk(sub)

    def walk(e: ir.Expr | None) -> None:
        if e is None:
            return
        if isinstance(e, ir.Read):
            walk_loc(e.loc)
            if not e.loc.ghost:
                found.append(loc_name(e.loc))
        elif isinstance(e, ir.AtomicOp):
            walk_loc(e.loc)
            for a in e.args:
                walk(a)
            if not e.loc.ghost:
                found.append(f"{e.op}({loc_name(e.loc)})")
        elif isinstance(e, ir.RefOp):
            walk(e.pointer)
            found.append(f"{e.op}()")
        elif isinstance(e, (ir.Unary,)):
            walk(e.operand)
        elif isinstance(e, ir.Binary):
            walk(e.left)
            walk(e.right)
        elif isinstance(e, ir.Ternary):
            walk(e.cond)
            walk(e.then)
            walk(e.other)
        elif isinstance(e, ir.ConstField):
            walk(e.pointer)
            if e.obj is not None:
                walk(e.obj.index)
        elif isinstance(e, ir.AddressOf):
            walk(e.obj.index)

    if isinstance(st, ir.AssignShared):
        walk(st.value)
        walk_loc(st.loc)
        if not st.loc.ghost:
            found.append(loc_name(st.loc))
    elif isinstance(st, (ir.AssignLocal,)):
        walk(st.value)
    elif isinstance(st, ir.Eval):
        walk(st.expr)
    elif isinstance(st, (ir.Check, ir.Assume, ir.Await)):
        walk(st.cond)
    return found


def resolve(module: s.Module, overrides: dict[str, int] | None = None, bound: int | None = None) -> ir.Program:
    return Resolver(module, overrides or {}, bound).run()
