"""The mutation operators: every mutant of a model (`generate`), for `objcg-prove mutate`.

Input: a `syntax.Module` and its source cache. Output: `Mutant`s in source order, each a copy of
the module in which one statement (or call) is changed, built with `dataclasses.replace` on the
frozen nodes (syntax_walk.py); its span, its original text and its mutated text (syntax_text.py)
name it in the report. `_Info` holds what the declarations say (shared names and their ghost
flag, struct fields, procedures) and answers the questions the operators ask: does a statement
make a shared access (the atomicity rule's count), which locals does it read and write, a fresh
temporary's name.

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
               test_and_clear_bit, atomic_dec_and_test, atomic_inc_not_zero, and the
               atomic_t operations (atomic_inc/dec/add/sub/and/or/andnot, atomic_fetch_*,
               atomic_*_return: `mut_v = x; x = mut_v + i;`, value `mut_v` for a fetch,
               `mut_v + i` for a return; atomic_xchg/cmpxchg/try_cmpxchg as the generic ones). The extra statements go before the statement; for a
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
  drop-holds   delete a `holds(p);` of the `final` block: the reference the owner keeps at the
               end counts as a leak again (a survivor says the `holds` exempts nothing that
               any finished execution has). The final block's other statements are checks:
               no operator changes them.
  drop-wait    delete a spin loop (docs/semantics.md, "Spin loops": a loop that only reads until
               a condition holds, as the resolver marks it with the model's default values):
               the thread goes on without waiting. Peterson's lock with its wait loop deleted
               lets both threads in. (Exchanging two stores before the wait, the bug of
               models/examples/peterson_broken.dsl, is a `swap`.)
  index        an array index `a[i]` becomes `a[i ^ 1]` (a constant `k`: `k ^ 1`): the
               neighbouring element, the other node of a per-node array (`objcgs[nid]`), the
               other thread's flag. Shared, ghost, object and local arrays and array fields alike,
               wherever the index stands (also in `&a[i]` and in a builtin's location). Only where
               the new index stays in bounds: a constant `k ^ 1` below the size, a run-time index
               only in an array of even size (whose size the declarations give as a number or a
               constant); an index out of bounds would be killed by the `uaf` it makes, which says
               nothing.

Under the LKMM only (`generate(weak=True)`: `--memory-model lkmm` or the model's declaration),
two more, which ask of each barrier whether the model needs it; under sequential consistency
either mutant is the original, so they are not generated there:

  drop-fence   delete a fence statement: `smp_mb();`, `smp_rmb();`, `smp_wmb();`, the four
               `smp_mb__*();`, `barrier();`, `synchronize_rcu();` (not `rcu_read_lock()` or
               `rcu_read_unlock()`: one of a pair alone is no model).
  relax        a release or acquire access becomes the marked access without its ordering:
               `smp_load_acquire(&x)` -> `READ_ONCE(x)`, `smp_store_release(&x, v)` and
               `rcu_assign_pointer(x, v)` -> `WRITE_ONCE(x, v)` (a pointer `p` for `&x`: `*p`).

The non-atomic operator also splits an RMW on a pointer to a pointer, `xchg(pp, v)` ->
`mut_v = *pp; *pp = v;`, when `pp` is a local value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from ..lang import syntax as s
from ..lang.ir import ATOMIC_ARITH, ATOMIC_SAME_AS
from ..lang.names import FENCES, LOCATION_ARG, LOCATION_BY_VALUE
from ..lang.diagnostics import SourceCache, Span
from .syntax_text import expr_text, head_text, source_text, stmt_text
from .syntax_walk import (StmtList, calls, children, escapes, final_stmt_lists, has_continue, names, own_exprs,
                          stmt_lists, sub_stmts, subst_own)

OPERATORS: tuple[str, ...] = ("drop-put", "drop-get", "non-atomic", "swap", "drop-assume", "drop-holds", "drop-wait",
                              "index", "drop-fence", "relax")
# the operators that change only what a weak memory model sees: generated under the LKMM only
# (under sequential consistency a fence orders nothing more, so each such mutant is the original)
WEAK_OPERATORS: tuple[str, ...] = ("drop-fence", "relax")
# the fences drop-fence deletes (not rcu_read_lock/unlock: one of a pair alone is no model)
_DROPPED_FENCES = frozenset(FENCES) - {"rcu_read_lock", "rcu_read_unlock"}
# release/acquire accesses and the marked access `relax` makes of each (its location by value)
_RELAXED = MappingProxyType({"smp_load_acquire": "READ_ONCE", "smp_store_release": "WRITE_ONCE",
                             "rcu_assign_pointer": "WRITE_ONCE"})

# statement calls deleted by the drop operators
_DROPPED_CALLS: Mapping[str, str] = MappingProxyType({
    "put": "drop-put", "kill": "drop-put", "get": "drop-get", "tryget": "drop-get",
    "tryget_live": "drop-get", "assume": "drop-assume", "holds": "drop-holds",
})
# atomic read-modify-writes and the argument that is their location (`&x`)
_RMW_LOCATION: Mapping[str, int] = MappingProxyType({
    "xchg": 0, "cmpxchg": 0, "try_cmpxchg": 0, "set_bit": 1, "clear_bit": 1,
    "test_and_set_bit": 1, "test_and_clear_bit": 1, "atomic_dec_and_test": 0, "atomic_inc_not_zero": 0,
    **{f: LOCATION_ARG[f] for f in (*ATOMIC_ARITH, *ATOMIC_SAME_AS)},
})
# builtins that access a location given as their argument (index of that argument): every one
# the language has (lang/names.py), the release/acquire ones included
_LOCATION_BUILTINS: Mapping[str, int] = MappingProxyType(dict(LOCATION_ARG))
_REF_BUILTINS = frozenset({"get", "put", "kill", "tryget", "tryget_live", "refcount"})
_CHECKS = frozenset({"assert", "lost_update"})
_WORD = s.TypeRef(None, False)


@dataclass(frozen=True)
class Mutant:
    """One changed model: `module` differs from the original at the statement at `span`."""

    operator: str
    span: Span
    original: str          # the original statement(s), as written (comments dropped)
    mutated: str           # what replaces them, printed from the syntax
    module: s.Module


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
        consts = {d.name: d.value.value for d in module.decls if isinstance(d, s.ConstDecl) and isinstance(d.value, s.Num)}
        # array name (shared, object or local array; array field) -> its size, when the
        # declarations give it as a number or constant and every array of that name agrees
        sizes: dict[str, set[int | None]] = {}

        def size(name: str, e: s.Expr | None) -> None:
            if e is not None:
                n = e.value if isinstance(e, s.Num) else consts.get(e.ident) if isinstance(e, s.Name) else None
                sizes.setdefault(name, set()).add(n)

        for d in module.decls:
            if isinstance(d, (s.SharedDecl, s.ObjectDecl)):
                size(d.name, d.size)
            elif isinstance(d, s.StructDecl):
                for f in d.fields:
                    size(f.name, f.size)
            elif isinstance(d, (s.ProcDecl, s.ThreadDecl)):
                for decl in _local_decls(d.body):
                    for dcl in decl.declarators:
                        size(dcl.name, dcl.size)
        self.array_sizes = {k: v.pop() for k, v in sizes.items() if len(v) == 1 and None not in v}
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
        for e in own_exprs(st):
            self.used |= names(e)
        for x in sub_stmts(st):
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

    def is_local_value(self, e: s.Expr) -> bool:
        """Is `e` made of numbers, constants and locals only (the same value when read again)?"""
        if isinstance(e, s.Num):
            return True
        if isinstance(e, s.Name):
            return e.ident not in self.shared and e.ident not in self.objects
        if isinstance(e, s.Unary):
            return self.is_local_value(e.operand)
        if isinstance(e, s.Binary):
            return self.is_local_value(e.left) and self.is_local_value(e.right)
        return False

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
        if isinstance(e, s.Deref):
            return True   # `*pp`: a pointer to a pointer never points to a ghost
        if isinstance(e, s.AddressOf):
            return self._naming_accesses(e.operand)
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
        return any(self.expr_accesses(c) for c in children(e))

    def _naming_accesses(self, loc: s.Expr) -> bool:
        """Does naming the location `loc` (for `&loc`) make a shared access: its indices and the
        pointers it goes through, not the location itself?"""
        if isinstance(loc, s.Index):
            return self._naming_accesses(loc.base) or self.expr_accesses(loc.index)
        if isinstance(loc, s.FieldAccess):
            return self._naming_accesses(loc.base)
        if isinstance(loc, (s.ArrowAccess, s.Deref)):
            return self.expr_accesses(loc.base if isinstance(loc, s.ArrowAccess) else loc.operand)
        return False

    def stmt_accesses(self, st: s.Stmt) -> bool:
        return (any(self.expr_accesses(e) for e in own_exprs(st))
                or any(self.stmt_accesses(x) for x in sub_stmts(st)))

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
            reads |= names(st.value)
        else:
            for e in own_exprs(st):
                reads |= names(e)
        for e in own_exprs(st):
            for call, _ in calls(e):
                if ATOMIC_SAME_AS.get(call.func, call.func) == "try_cmpxchg" and len(call.args) == 3:
                    writes |= names(call.args[1])
        for x in sub_stmts(st):
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


def _original_of(st: s.Stmt, call: s.Expr, sources: SourceCache) -> str:
    if isinstance(st, (s.If, s.While, s.DoWhile, s.For)):
        return source_text(sources, Span(call.span.file, call.span.line, 0))
    return source_text(sources, st.span)


def _tryget_drops(st: s.Stmt, sources: SourceCache) -> list[_Edit]:
    if isinstance(st, s.ExprStmt) and isinstance(st.expr, s.Call) and st.expr.func in _DROPPED_CALLS:
        return []  # a whole-statement tryget(p); is deleted by _drop
    out = []
    for e in own_exprs(st):
        for call, _ in calls(e):
            if call.func in ("tryget", "tryget_live") and len(call.args) == 1:
                sp = call.span
                new = s.Binary("!=", s.Call("refcount", call.args, sp), s.Num(0, sp), sp)
                mutated = subst_own(st, call, new)
                out.append(_Edit("drop-get", sp, _original_of(st, call, sources), head_text(mutated), (mutated,)))
    return out


@dataclass(frozen=True)
class _Split:
    """An atomic read-modify-write as plain statements: `pre` does the read and the write (its
    first statement declares the temporary, if any); `value` replaces the call (None: unused)."""

    pre: tuple[s.Stmt, ...]
    value: s.Expr | None


def _split_rmw(call: s.Call, info: _Info, into: s.Name | None = None) -> _Split | None:
    f, args, sp = ATOMIC_SAME_AS.get(call.func, call.func), call.args, call.span
    li = _RMW_LOCATION[f]
    if len(args) <= li:
        return None
    if isinstance(args[li], s.AddressOf):
        loc = args[li].operand  # type: ignore[union-attr]
    elif info.is_local_value(args[li]):
        loc = s.Deref(args[li], args[li].span)   # `xchg(pp, v)`: the word pp points to
    else:
        return None

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
    if f in ATOMIC_ARITH:
        arith = ATOMIC_ARITH[f]
        amount = num(1) if arith.by_one else args[0]
        if arith.returns == "new" and not info.is_local_value(amount):
            return None  # the value `mut_v + i` would read `i` again, after the write
        new = (binary("&", v, s.Unary("~", amount, sp)) if arith.operator == "&~"
               else binary(arith.operator, v, amount))
        return _Split((read, assign(loc, new)), {"old": v, "new": new, "none": None}[arith.returns])
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
    for e in own_exprs(st):
        for call, conditional in calls(e):
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

    kind = ATOMIC_SAME_AS.get(call.func, call.func)
    direct = kind in ("xchg", "cmpxchg")
    arg_names = set().union(*(names(a) for a in call.args))
    # `t = xchg(&x, v);` with t a local: `t = x; x = v;`
    if (direct and isinstance(st, s.Assign) and st.value is call and isinstance(st.target, s.Name)
            and st.target.ident not in info.globals and st.target.ident not in arg_names):
        split = _split_rmw(call, info, into=st.target)
        return edit(split.pre) if split is not None else None
    # `T t = xchg(&x, v), ...;`: `T t = x; x = v; T ...;`
    if isinstance(st, s.LocalDecl):
        k = next(i for i, d in enumerate(st.declarators) if d.init is not None and any(c is call for c, _ in calls(d.init)))
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
        rest = subst_own(s.LocalDecl(st.declarators[k:], st.span), call, split.value)
        return edit(head + split.pre + (rest,))
    split = _split_rmw(call, info)
    if split is None:
        return None
    if isinstance(st, s.ExprStmt) and st.expr is call:
        if kind == "xchg":
            return None  # a discarded xchg is a store: its plain version is the same store
        return edit(split.pre)
    if split.value is None:
        return None
    new = subst_own(st, call, split.value)
    if isinstance(st, (s.LocalDecl, s.Assign, s.ExprStmt, s.Return, s.If)):
        return edit(split.pre + (new,), _texts(split.pre) + " " + head_text(new))
    if isinstance(st, (s.DoWhile, s.While)) and not has_continue(st.body):
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


def _indices(st: s.Stmt, info: _Info, sources: SourceCache) -> list[_Edit]:
    """`a[i]` -> `a[i ^ 1]` for each index of the statement's own expressions that stays in bounds."""
    out = []
    for e in own_exprs(st):
        todo = [e]
        while todo:
            x = todo.pop(0)
            todo += children(x)
            if not isinstance(x, s.Index):
                continue
            base = x.base.name if isinstance(x.base, (s.FieldAccess, s.ArrowAccess)) else getattr(x.base, "ident", None)
            n = info.array_sizes.get(base) if isinstance(base, str) else None
            if n is None:
                continue
            sp = x.index.span
            if isinstance(x.index, s.Num):
                if x.index.value ^ 1 >= n:
                    continue
                other: s.Expr = s.Num(x.index.value ^ 1, sp)
            elif n % 2:
                continue
            else:
                other = s.Binary("^", x.index, s.Num(1, sp), sp)
            mutated = subst_own(st, x, replace(x, index=other))
            out.append(_Edit("index", sp, _original_of(st, x, sources), head_text(mutated), (mutated,)))
    return out


def _local_decls(st: s.Stmt) -> list[s.LocalDecl]:
    if isinstance(st, s.LocalDecl):
        return [st]
    return [d for x in sub_stmts(st) for d in _local_decls(x)]


def _swaps(lst: StmtList, i: int, info: _Info, sources: SourceCache) -> list[_Edit]:
    a, b = lst.stmts[i], lst.stmts[i + 1]
    if lst.in_atomic:
        return []
    for st in (a, b):
        if escapes(st) or not info.stmt_accesses(st):
            return []
        if isinstance(st, s.ExprStmt) and isinstance(st.expr, s.Call) and st.expr.func in _CHECKS:
            return []
    ra, wa = info.locals_read_written(a)
    rb, wb = info.locals_read_written(b)
    if wa & (rb | wb) or wb & ra:
        return []
    ta, tb = source_text(sources, a.span), source_text(sources, b.span)
    return [_Edit("swap", a.span, f"{ta} {tb}", f"{tb} {ta}", (b, a))]


def _spin_loops(module: s.Module) -> frozenset[Span]:
    """The spans of the spin loops of `module` (lang/spin_loops.py), resolved with its default
    values; none when it does not resolve (the mutants are then judged invalid anyway)."""
    from ..lang import ir
    from ..lang.diagnostics import UserError
    from ..lang.resolve import resolve

    try:
        program = resolve(module)
    except UserError:
        return frozenset()
    found: set[Span] = set()
    work: list[ir.Stmt] = [st for t in program.threads for st in t.body] + [st for p in program.procs for st in p.body]
    while work:
        st = work.pop()
        if isinstance(st, ir.Loop):
            if st.spin:
                found.add(st.span)
            work += st.body
        elif isinstance(st, (ir.Seq, ir.Atomic)):
            work += st.body
        elif isinstance(st, ir.If):
            work += st.then + st.other
    return frozenset(found)


def _drop_fence(st: s.Stmt, sources: SourceCache) -> list[_Edit]:
    if isinstance(st, s.ExprStmt) and isinstance(st.expr, s.Call) and st.expr.func in _DROPPED_FENCES:
        return [_Edit("drop-fence", st.span, source_text(sources, st.span), "(deleted)", (s.Empty(st.span),))]
    return []


def _relax(st: s.Stmt, sources: SourceCache) -> list[_Edit]:
    """smp_load_acquire(&x) -> READ_ONCE(x), smp_store_release(&x, v) and rcu_assign_pointer(x, v)
    -> WRITE_ONCE(x, v): the access stays marked, its ordering goes."""
    out = []
    for e in own_exprs(st):
        for call, _ in calls(e):
            if call.func not in _RELAXED or not call.args:
                continue
            loc = call.args[0]
            if call.func not in LOCATION_BY_VALUE:   # written `&x` (or a pointer p: `*p`)
                loc = loc.operand if isinstance(loc, s.AddressOf) else s.Deref(loc, loc.span)
            new = s.Call(_RELAXED[call.func], (loc,) + call.args[1:], call.span)
            mutated = subst_own(st, call, new)
            out.append(_Edit("relax", call.span, _original_of(st, call, sources), head_text(mutated), (mutated,)))
    return out


def _drop_wait(st: s.Stmt, spins: frozenset[Span]) -> list[_Edit]:
    if isinstance(st, (s.While, s.DoWhile, s.For)) and st.span in spins:
        return [_Edit("drop-wait", st.span, head_text(st), "(deleted)", (s.Empty(st.span),))]
    return []


def generate(module: s.Module, sources: SourceCache, operators: tuple[str, ...] = OPERATORS,
             all_files: bool = False, weak: bool = False) -> list[Mutant]:
    """Every mutant of `module` by the given operators, in source order (file, line, column); the
    WEAK_OPERATORS only when `weak` (the model is verified under the LKMM)."""
    if not weak:
        operators = tuple(op for op in operators if op not in WEAK_OPERATORS)
    info = _Info(module)
    spins = _spin_loops(module) if "drop-wait" in operators else frozenset()
    found: list[tuple[tuple[int, int, int, int], Mutant]] = []
    files: dict[str, int] = {}

    def keep(lst: StmtList, i: int, width: int, e: _Edit) -> None:
        if e.operator not in operators:
            return
        new = lst.rebuild(lst.stmts[:i] + e.stmts + lst.stmts[i + width:])
        files.setdefault(e.span.file, len(files))
        key = (files[e.span.file], e.span.line, e.span.column, OPERATORS.index(e.operator))
        found.append((key, Mutant(e.operator, e.span, e.original, e.mutated, new)))

    for lst in stmt_lists(module):
        for i, st in enumerate(lst.stmts):
            if not all_files and st.span.file != module.path:
                continue
            for e in (_drop(st, sources) + _tryget_drops(st, sources) + _drop_wait(st, spins)
                      + _indices(st, info, sources) + _drop_fence(st, sources) + _relax(st, sources)):
                keep(lst, i, 1, e)
            if not lst.in_atomic:
                for e in _non_atomic(st, info, sources):
                    keep(lst, i, 1, e)
            if i + 1 < len(lst.stmts):
                for e in _swaps(lst, i, info, sources):
                    keep(lst, i, 2, e)
    for lst in final_stmt_lists(module):
        for i, st in enumerate(lst.stmts):
            if all_files or st.span.file == module.path:
                for e in _drop(st, sources):
                    keep(lst, i, 1, e)
    found.sort(key=lambda item: item[0])
    return [m for _, m in found]

