"""The resolved program: names bound, types known, shared accesses explicit.

Produced by lang/resolve.py from syntax; consumed by prove/unroll.py (and, later, any other engine).
Every shared access is an explicit node (`Read`, `Write` via `AssignShared`, `AtomicOp`,
`RefOp`) with its access mode, so a memory model can be attached to it (docs/semantics.md).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import NamedTuple

from .diagnostics import NO_SPAN, Span


def _span() -> Span:
    return field(default=NO_SPAN, compare=False, repr=False)


# ---- types and layout ----------------------------------------------------------------------
@dataclass(frozen=True)
class Type:
    """A word (`struct_name` None and not pointer), `struct S *`, or with `indirect` a pointer to
    a pointer, `struct S **`: its values are the addresses of shared words of type `struct S *`
    (`Layout.word_address`)."""

    struct_name: str | None = None
    pointer: bool = False
    indirect: bool = False

    def __str__(self) -> str:
        if self.indirect:
            return f"struct {self.struct_name} **"
        return f"struct {self.struct_name} *" if self.pointer else "word"

    @property
    def target(self) -> "Type":
        """What a pointer to a pointer points to: `struct S *`."""
        return Type(self.struct_name, True)


WORD = Type()
NULL_PTR = Type(None, True)


@dataclass(frozen=True)
class FieldInfo:
    """One field of a struct, its type resolved."""

    name: str
    type: Type
    const: bool
    size: int | None = None   # an array field: its elements are the fields `element_name(name, k)`


def element_name(field_name: str, k: int) -> str:
    """The name of element k of an array field (or local array): `objcgs[1]`. Each element of an
    array field is its own location, keyed in `Layout.field_locations` by this name."""
    return f"{field_name}[{k}]"


@dataclass(frozen=True)
class StructInfo:
    """A struct: its fields in declaration order, and whether its objects are refcounted."""

    name: str
    refcounted: bool
    fields: tuple[FieldInfo, ...]

    def field(self, name: str) -> FieldInfo | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None


@dataclass(frozen=True)
class ObjectInfo:
    """One object (an array of objects contributes one per element, named `arr[i]`)."""

    index: int          # position in Layout.objects
    name: str
    struct: str
    address: int        # base address: aligned, so the low TAG_BITS bits are free for tags
    const_values: tuple[tuple[str, int], ...]  # values of const fields


@dataclass(frozen=True)
class Location:
    """One shared memory word: an object field, a shared variable (element), or a refcount."""

    id: int
    name: str           # task_T.objcg, counter, flag[1], objcg_A.refcnt
    type: Type
    init: int
    ghost: bool = False
    refcount_of: int | None = None   # object index, for a percpu_ref location


TAG_BITS = 3

# NOTE(word-addresses): a pointer to a pointer (`struct S **`) holds the address of a shared
# word: location k has address 8·(n + 1 + k), n the number of objects, so word addresses come
# after every object's and keep the low TAG_BITS bits free, like object addresses. `*pp` is valid
# only when pp is the address of a non-ghost word of type `struct S *` (`Layout.pointer_words`);
# any other value (NULL, an object, a refcount, a word of another type) is a failed access. The
# resolver refuses a model using `**` whose word addresses do not fit below the top bit of a
# word (lang/resolve.py). Every engine computes addresses with `Layout.word_address`.


@dataclass(frozen=True)
class Layout:
    """Where everything lives: objects, shared locations and their addresses, the word width."""

    width: int
    objects: tuple[ObjectInfo, ...]
    locations: tuple[Location, ...]
    structs: tuple[StructInfo, ...]
    field_locations: tuple[tuple[tuple[int, str], int], ...]  # (object index, field) -> location id
    global_locations: tuple[tuple[str, tuple[int, ...]], ...]  # shared var -> location ids
    tag_names: tuple[tuple[int, str], ...]  # small constants printed as pointer tags (UPDATE)

    def struct(self, name: str) -> StructInfo:
        for st in self.structs:
            if st.name == name:
                return st
        raise KeyError(name)

    def field_location(self, obj: int, field_name: str) -> int:
        return dict(self.field_locations)[(obj, field_name)]

    def word_address(self, loc: int) -> int:
        """The address of a shared word, the value of `&memcg->objcgs[1]` (NOTE(word-addresses))."""
        return (len(self.objects) + 1 + loc) << TAG_BITS

    def pointer_words(self, struct: str) -> tuple[int, ...]:
        """The shared words a `struct S **` may point to: every non-ghost location of type
        `struct S *` (NOTE(word-addresses))."""
        return self._pointer_words.get(struct, ())

    @functools.cached_property
    def _pointer_words(self) -> dict[str, tuple[int, ...]]:
        out: dict[str, list[int]] = {}
        for loc in self.locations:
            if loc.type.pointer and not loc.type.indirect and not loc.ghost and loc.type.struct_name is not None:
                out.setdefault(loc.type.struct_name, []).append(loc.id)
        return {k: tuple(v) for k, v in out.items()}

    def word_at(self, address: int) -> int | None:
        """The location whose address is `address`, or None (an object, NULL, any other word)."""
        if address & ((1 << TAG_BITS) - 1):
            return None
        loc = (address >> TAG_BITS) - len(self.objects) - 1
        return loc if 0 <= loc < len(self.locations) else None

    def element_locations(self, obj: int, struct: str, field_name: str) -> tuple[int, ...]:
        """The locations of an array field's elements in one object, in index order."""
        size = self.struct(struct).field(field_name).size   # type: ignore[union-attr]
        assert size is not None, field_name
        return tuple(self.field_location(obj, element_name(field_name, k)) for k in range(size))

    def global_location_ids(self, name: str) -> tuple[int, ...]:
        return dict(self.global_locations)[name]

    def refcount_location(self, obj: int) -> int:
        for loc in self.locations:
            if loc.refcount_of == obj:
                return loc.id
        raise KeyError(obj)

    @property
    def kill_bit(self) -> int:
        """percpu_ref: the killed flag lives in the top bit of the refcount word."""
        return 1 << (self.width - 1)


# ---- expressions ---------------------------------------------------------------------------
@dataclass(frozen=True)
class LocalVar:
    """A local variable or parameter, unique by `uid` across the program."""

    uid: int
    name: str
    type: Type


@dataclass(frozen=True)
class Const:
    """A constant value of a known type."""

    value: int
    type: Type = WORD
    span: Span = _span()


@dataclass(frozen=True)
class Local:
    """A read of a local variable (locals are never shared)."""

    var: LocalVar
    span: Span = _span()


@dataclass(frozen=True)
class Current:
    """`current`: the object address of the thread's task."""

    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class Unary:
    """A prefix operator on one operand, with the type of its value."""

    op: str
    operand: "Expr"
    type: Type = WORD
    span: Span = _span()


@dataclass(frozen=True)
class Binary:
    """An infix operator with the type of its value (pointer arithmetic keeps a pointer type)."""

    op: str
    left: "Expr"
    right: "Expr"
    type: Type = WORD
    span: Span = _span()


@dataclass(frozen=True)
class Ternary:
    """`cond ? then : other`, evaluating only the branch taken."""

    cond: "Expr"
    then: "Expr"
    other: "Expr"
    type: Type = WORD
    span: Span = _span()


@dataclass(frozen=True)
class ObjectRef:
    """A declared object, or an element of an object array chosen by `index`."""

    candidates: tuple[int, ...]   # object indices (one, or an array's elements)
    index: "Expr | None" = None
    span: Span = _span()


@dataclass(frozen=True)
class AddressOf:
    """`&obj`: the object's address."""

    obj: ObjectRef
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class SharedLoc:
    """A shared memory word. Exactly one of the three forms:

    - global: `name` with `candidates` location ids and optional `index`;
    - field of an object: `obj` (ObjectRef) and `field`;
    - field through a pointer: `pointer` expression, `struct` and `field`;
    - the word a pointer to a pointer points to (`*pp`): `pointer` (of type `struct S **`),
      `struct` S and no `field` (`deref`; NOTE(word-addresses)).

    An element of an array field with a constant index is the field `element_name(f, k)`; with
    a run-time index it is the array field `f` with `index` set (`obj` or `pointer` too).
    """

    type: Type
    ghost: bool
    name: str = ""
    candidates: tuple[int, ...] = ()
    index: "Expr | None" = None
    obj: ObjectRef | None = None
    pointer: "Expr | None" = None
    struct: str = ""
    field: str = ""
    span: Span = _span()

    @property
    def deref(self) -> bool:
        """`*pp`: the word whose address is the value of `pointer`."""
        return self.pointer is not None and not self.field


@dataclass(frozen=True)
class WordAddress:
    """`&memcg->objcgs[nid]` as a value: the address of a shared word of type `struct S *`
    (`Layout.word_address`), of type `struct S **`. Accesses no memory; naming the word can fail
    (an invalid pointer, an index out of bounds), as for any access (NOTE(word-addresses))."""

    loc: "SharedLoc"
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class ConstField:
    """Read of a field declared const: its initial value, not a shared access."""

    obj: ObjectRef | None
    pointer: "Expr | None"
    struct: str
    field: str
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class Read:
    """A read of one shared word, `plain`, `once` (READ_ONCE) or `acquire` (smp_load_acquire)."""

    loc: SharedLoc
    mode: str  # plain | once | acquire
    span: Span = _span()


# Atomic read-modify-writes and their memory-order class (for a later memory model), as
# Documentation/atomic_t.txt gives it: an RMW that returns a value is fully ordered, one that
# returns nothing is unordered.
#   mb: fully ordered (xchg, cmpxchg, try_cmpxchg, test_and_*_bit, atomic_*_and_test,
#       atomic_fetch_*, atomic_*_return, atomic_xchg ...)
#   relaxed: unordered RMW (set_bit, clear_bit, atomic_inc/dec/add/sub/and/or/andnot)
#   acquire / release: spin_lock / spin_unlock
ATOMIC_ORDER = {
    "xchg": "mb", "cmpxchg": "mb", "try_cmpxchg": "mb", "test_and_set_bit": "mb",
    "test_and_clear_bit": "mb", "atomic_dec_and_test": "mb", "atomic_inc_not_zero": "mb",
    "atomic_fetch_add": "mb", "atomic_fetch_sub": "mb", "atomic_fetch_and": "mb", "atomic_fetch_or": "mb",
    "atomic_fetch_andnot": "mb", "atomic_add_return": "mb", "atomic_sub_return": "mb",
    "atomic_inc_return": "mb", "atomic_dec_return": "mb",
    "atomic_xchg": "mb", "atomic_cmpxchg": "mb", "atomic_try_cmpxchg": "mb",
    "set_bit": "relaxed", "clear_bit": "relaxed", "atomic_inc": "relaxed", "atomic_dec": "relaxed",
    "atomic_add": "relaxed", "atomic_sub": "relaxed", "atomic_and": "relaxed", "atomic_or": "relaxed",
    "atomic_andnot": "relaxed", "spin_lock": "acquire", "spin_unlock": "release",
}


class ArithRMW(NamedTuple):
    """An arithmetic or bitwise read-modify-write of an atomic_t: it writes `old OPERATOR
    amount` (`&~`: `old & ~amount`), where the amount is 1 (`by_one`: inc, dec) or its argument
    `i`, and returns the old value (`old`: atomic_fetch_*), the new one (`new`: atomic_*_return)
    or nothing (`none`: the value 0). Every engine computes them from this one table."""

    operator: str     # + - & | &~
    by_one: bool
    returns: str      # old | new | none


ATOMIC_ARITH: dict[str, ArithRMW] = {
    "atomic_inc": ArithRMW("+", True, "none"), "atomic_dec": ArithRMW("-", True, "none"),
    "atomic_add": ArithRMW("+", False, "none"), "atomic_sub": ArithRMW("-", False, "none"),
    "atomic_and": ArithRMW("&", False, "none"), "atomic_or": ArithRMW("|", False, "none"),
    "atomic_andnot": ArithRMW("&~", False, "none"),
    "atomic_fetch_add": ArithRMW("+", False, "old"), "atomic_fetch_sub": ArithRMW("-", False, "old"),
    "atomic_fetch_and": ArithRMW("&", False, "old"), "atomic_fetch_or": ArithRMW("|", False, "old"),
    "atomic_fetch_andnot": ArithRMW("&~", False, "old"),
    "atomic_add_return": ArithRMW("+", False, "new"), "atomic_sub_return": ArithRMW("-", False, "new"),
    "atomic_inc_return": ArithRMW("+", True, "new"), "atomic_dec_return": ArithRMW("-", True, "new"),
}
# atomic_t operations that behave exactly as a generic one on the counter word
# (`atomic_xchg(&v, new)` is `xchg(&v, new)`): the engines run `AtomicOp.kind`
ATOMIC_SAME_AS = {"atomic_xchg": "xchg", "atomic_cmpxchg": "cmpxchg", "atomic_try_cmpxchg": "try_cmpxchg"}


@dataclass(frozen=True)
class AtomicOp:
    """An atomic read-modify-write of one shared word (ATOMIC_ORDER, ATOMIC_ARITH)."""

    op: str
    loc: SharedLoc
    args: tuple["Expr", ...]
    out: LocalVar | None = None   # try_cmpxchg's `&old`
    type: Type = WORD
    span: Span = _span()

    @property
    def kind(self) -> str:
        """The operation the engines run: `op`, or the generic one it is (ATOMIC_SAME_AS)."""
        return ATOMIC_SAME_AS.get(self.op, self.op)


REF_OPS = ("get", "put", "tryget", "tryget_live", "kill", "refcount")


@dataclass(frozen=True)
class RefOp:
    """A refcount operation (REF_OPS) on the object `pointer` points to."""

    op: str           # one of REF_OPS
    pointer: "Expr"
    struct: str
    span: Span = _span()


@dataclass(frozen=True)
class Nondet:
    """`nondet()`: any word, or with a `limit` any word below it, chosen afresh at each evaluation."""

    limit: int | None
    span: Span = _span()


@dataclass(frozen=True)
class IndexFault:
    """A run-time index of a local array that is not below its size: a failed access (a `uaf`,
    the thread stops; docs/semantics.md, "Failed accesses"). Reads no memory and has no value.
    lang/local_arrays.py puts it where a chain of index tests on a local array ends."""

    array: str
    size: int
    span: Span = _span()

    @property
    def message(self) -> str:
        return f"index out of bounds for '{self.array}[{self.size}]'"


Expr = (Const | Local | Current | Unary | Binary | Ternary | AddressOf | WordAddress | ConstField | Read | AtomicOp | RefOp
        | Nondet | IndexFault)


# ---- statements ----------------------------------------------------------------------------
@dataclass(frozen=True)
class AssignLocal:
    """`var = value;` for a local variable."""

    var: LocalVar
    value: Expr
    span: Span = _span()


@dataclass(frozen=True)
class AssignShared:
    """A write of one shared word, `plain`, `once` (WRITE_ONCE) or `release` (smp_store_release,
    rcu_assign_pointer)."""

    loc: SharedLoc
    value: Expr
    mode: str  # plain | once | release
    span: Span = _span()


@dataclass(frozen=True)
class Eval:
    """An expression evaluated for its effect."""

    expr: Expr
    span: Span = _span()


@dataclass(frozen=True)
class CallProc:
    """A call of a procedure, its value (if any) assigned to `result`."""

    proc: str
    args: tuple[Expr, ...]
    result: LocalVar | None = None
    span: Span = _span()


@dataclass(frozen=True)
class If:
    """`if` with both branches as statement sequences (`other` empty without an else)."""

    cond: Expr
    then: tuple["Stmt", ...]
    other: tuple["Stmt", ...]
    span: Span = _span()


@dataclass(frozen=True)
class Loop:
    """while (cond_first), do-while (not cond_first) and for loops (with `step`)."""

    cond: Expr
    body: tuple["Stmt", ...]
    step: tuple["Stmt", ...]
    cond_first: bool
    span: Span = _span()
    spin: bool = False    # a spin loop (lang/spin_loops.py; docs/semantics.md, "Spin loops")


@dataclass(frozen=True)
class Break:
    """Leaves the innermost loop."""

    span: Span = _span()


@dataclass(frozen=True)
class Continue:
    """Goes on with the innermost loop's step and condition."""

    span: Span = _span()


@dataclass(frozen=True)
class Return:
    """Leaves the procedure, with a value or without."""

    value: Expr | None
    span: Span = _span()


@dataclass(frozen=True)
class Atomic:
    """An `atomic { ... }` block: one step of its thread."""

    body: tuple["Stmt", ...]
    span: Span = _span()


CHECK_KINDS = ("assert", "lost_update")


@dataclass(frozen=True)
class Check:
    """An assert or lost_update check: `cond` must hold whenever execution reaches it."""

    kind: str          # assert | lost_update
    label: str
    cond: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Assume:
    """Executions where `cond` is false here are not considered."""

    cond: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Await:
    """`await(c)`: the thread waits here until `cond` holds."""

    cond: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Seq:
    """A block: only groups statements (scoping was done by the resolver)."""

    body: tuple["Stmt", ...]
    span: Span = _span()


@dataclass(frozen=True)
class Fence(Seq):
    """A fence (`smp_mb()`, `rcu_read_lock()` ...; names.FENCES gives its LKMM tag). Under
    sequential consistency it does nothing, so it is an empty block to every engine; only the
    unroller reads its tag, for the LKMM (docs/lkmm.md, section 2)."""

    tag: str = ""


Stmt = AssignLocal | AssignShared | Eval | CallProc | If | Loop | Break | Continue | Return | Atomic | Check | Assume | Await | Seq


def flatten(stmts: tuple[Stmt, ...]) -> list[Stmt]:
    """The statements of a block with nested blocks (`Seq`) opened up, in order."""
    out: list[Stmt] = []
    for st in stmts:
        if isinstance(st, Seq):
            out.extend(flatten(st.body))
        else:
            out.append(st)
    return out


@dataclass(frozen=True)
class Proc:
    """A resolved procedure."""

    name: str
    params: tuple[LocalVar, ...]
    returns: Type | None
    body: tuple[Stmt, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Thread:
    """A resolved thread; `current` is the object index of its task, if it has one."""

    name: str
    current: int | None       # object index of the thread's task, if any
    body: tuple[Stmt, ...]
    span: Span = _span()


@dataclass(frozen=True)
class CommonPath:
    """`common_path NAME ... given { ... } { ... }`: not run by the prover. `given` establishes
    the precondition; `path` is the code whose shared accesses study/cost.py counts. Both are
    resolved as threads (with the declaration's `current`) so the interpreter can run them."""

    name: str
    given: Thread
    path: Thread
    span: Span = _span()


@dataclass(frozen=True)
class Holds:
    """`holds(p)` in the `final` block: at the end, the object `p` is the address of keeps one
    reference without being a leak (docs/semantics.md, "End-of-run checks")."""

    pointer: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Final:
    """The `final` block: checks on the memory at the end of every execution in which every
    thread finished, and the references owners hold then. Its expressions are pure and total
    (lang/final.py): they read locations named statically, and nothing else of the state."""

    checks: tuple[Check, ...]
    holds: tuple[Holds, ...]
    span: Span = _span()


def builtin_properties(layout: Layout) -> tuple[str, ...]:
    """The built-in properties a model has, in report order (docs/semantics.md, "Property
    order"): `leak` only when some object is of a refcounted struct (without one nothing can
    leak, so the property does not apply), then `uaf` and `deadlock`, which every model has.
    The one rule the prover, the interpreter and the Promela export list their properties by."""
    refcounted = any(layout.struct(o.struct).refcounted for o in layout.objects)
    return ("leak", "uaf", "deadlock") if refcounted else ("uaf", "deadlock")


def property_name(kind: str, label: str, span: Span) -> str:
    """The name a check's property is reported under: its label, else where it stands."""
    if label:
        return label
    return kind if kind == "lost_update" else f"{kind}@{span.file}:{span.line}"


@dataclass(frozen=True)
class Program:
    """A resolved model: the layout, procedures, threads, the bound and the param values used."""

    path: str
    layout: Layout
    procs: tuple[Proc, ...]
    threads: tuple[Thread, ...]
    bound: int
    bound_span: Span
    params: tuple[tuple[str, int], ...]
    # every assert/lost_update property the threads can reach, (kind, name), in source order:
    # listed even when unrolling finds no reachable check of it
    properties: tuple[tuple[str, str], ...] = ()
    common_paths: tuple[CommonPath, ...] = ()   # for `objcg-prove compare` (study/cost.py) only
    width_span: Span | None = None   # where the model declares its `width` (None: the default)
    final: Final | None = None       # the `final` block, if the model has one
    memory_model: str = "sc"         # its `memory_model` declaration: sc (the default) or lkmm

    def proc(self, name: str) -> Proc:
        for p in self.procs:
            if p.name == name:
                return p
        raise KeyError(name)
