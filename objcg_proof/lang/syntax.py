"""Surface syntax of the DSL: frozen dataclasses built by lang/parser.py, consumed by lang/resolve.py.

Every node carries its `span` (file, line, column), kept out of equality so two models that
differ only in layout compare equal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .diagnostics import NO_SPAN, Span


def _span() -> Span:
    return field(default=NO_SPAN, compare=False, repr=False)


# ---- types ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class TypeRef:
    """`word` (struct_name None, pointer False) or `struct S *` (pointer True), or with
    `indirect` a pointer to a pointer, `struct S **`."""

    struct_name: str | None = None
    pointer: bool = False
    span: Span = _span()
    indirect: bool = False


# ---- expressions ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Num:
    """A number literal (also `true` = 1 and `false` = 0)."""

    value: int
    span: Span = _span()


@dataclass(frozen=True)
class Null:
    """`NULL`."""

    span: Span = _span()


@dataclass(frozen=True)
class Str:
    """A string literal (a check's label), never a value."""

    text: str
    span: Span = _span()


@dataclass(frozen=True)
class Name:
    """A name: a local, a parameter, a const or param, a shared variable or an object."""

    ident: str
    span: Span = _span()


@dataclass(frozen=True)
class Unary:
    """A prefix operator applied to one operand."""

    op: str  # ! ~ - +
    operand: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class Binary:
    """An infix operator: arithmetic, bitwise, comparison, `&&`, `||`."""

    op: str
    left: "Expr"
    right: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class Ternary:
    """`cond ? then : other`."""

    cond: "Expr"
    then: "Expr"
    other: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class AddressOf:
    """`&x`: the address of an object, an object array element or a shared word."""

    operand: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class Deref:
    """`*pp`: the word a pointer to a pointer points to."""

    operand: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class Cast:
    """`(type)operand`."""

    type: TypeRef
    operand: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class FieldAccess:
    """`obj.field` on a declared object (or array element)."""

    base: "Expr"
    name: str
    span: Span = _span()


@dataclass(frozen=True)
class ArrowAccess:
    """`ptr->field`."""

    base: "Expr"
    name: str
    span: Span = _span()


@dataclass(frozen=True)
class Index:
    """`base[index]`: an element of an array."""

    base: "Expr"
    index: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class Call:
    """`func(args)`: a builtin (atomics, refcounts, asserts, nondet ...) or a procedure."""

    func: str
    args: tuple["Expr", ...]
    span: Span = _span()


Expr = Num | Null | Str | Name | Unary | Binary | Ternary | AddressOf | Deref | Cast | FieldAccess | ArrowAccess | Index | Call


# ---- statements ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Declarator:
    """A local variable; with `size`, a local array (`init` then a tuple or one value)."""

    name: str
    type: TypeRef
    init: "Expr | tuple[Expr, ...] | None"
    span: Span = _span()
    size: "Expr | None" = None


@dataclass(frozen=True)
class LocalDecl:
    """One local declaration statement; `word a, b = 1;` has two declarators."""

    declarators: tuple[Declarator, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Assign:
    """`target = value;`."""

    target: Expr
    value: Expr
    span: Span = _span()


@dataclass(frozen=True)
class ExprStmt:
    """An expression evaluated for its effect: `set_bit(...);`, `put(p);`."""

    expr: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Block:
    """`{ ... }`: a statement sequence and a scope for locals."""

    body: tuple["Stmt", ...]
    span: Span = _span()


@dataclass(frozen=True)
class If:
    """`if (cond) then else other`."""

    cond: Expr
    then: "Stmt"
    other: "Stmt | None"
    span: Span = _span()


@dataclass(frozen=True)
class While:
    """`while (cond) body`."""

    cond: Expr
    body: "Stmt"
    span: Span = _span()


@dataclass(frozen=True)
class DoWhile:
    """`do body while (cond);`."""

    body: "Stmt"
    cond: Expr
    span: Span = _span()


@dataclass(frozen=True)
class For:
    """`for (init; cond; step) body`; every part but the body may be left out."""

    init: "Stmt | None"
    cond: Expr | None
    step: "Stmt | None"
    body: "Stmt"
    span: Span = _span()


@dataclass(frozen=True)
class Break:
    """`break;`."""

    span: Span = _span()


@dataclass(frozen=True)
class Continue:
    """`continue;`."""

    span: Span = _span()


@dataclass(frozen=True)
class Return:
    """`return value;` or a bare `return;`."""

    value: Expr | None
    span: Span = _span()


@dataclass(frozen=True)
class Atomic:
    """`atomic { ... }`: a block run as one step, no other thread in between."""

    body: Block
    span: Span = _span()


@dataclass(frozen=True)
class Empty:
    """`;` on its own."""

    span: Span = _span()


Stmt = LocalDecl | Assign | ExprStmt | Block | If | While | DoWhile | For | Break | Continue | Return | Atomic | Empty


# ---- top-level declarations ----------------------------------------------------------------
@dataclass(frozen=True)
class Include:
    """`include "file.dsl";`: the declarations of another file, its path relative to this one."""

    path: str
    span: Span = _span()


@dataclass(frozen=True)
class ConstDecl:
    """`const N = e;`, or with `is_param` a `param N = e;` that -D may override."""

    name: str
    value: Expr
    is_param: bool
    span: Span = _span()


@dataclass(frozen=True)
class BoundDecl:
    """`bound k;`: the model's own loop unrolling bound."""

    value: Expr
    span: Span = _span()


@dataclass(frozen=True)
class WidthDecl:
    """`width w;`: the number of bits of every word."""

    value: Expr
    span: Span = _span()


@dataclass(frozen=True)
class MemoryModelDecl:
    """`memory_model lkmm;`: the memory model the model's verdicts hold under."""

    name: str
    span: Span = _span()


@dataclass(frozen=True)
class MirrorItem:
    """`PROC;` or `PROC = FUNCTION;` in a `mirrors` declaration."""

    proc: str
    function: str
    span: Span = _span()


@dataclass(frozen=True)
class MirrorsDecl:
    """`mirrors "mm/memcontrol.c" [unmerged|reconstructed] { ... }`: the C functions the model's
    procs mirror (`objcg-prove drift`); nothing the prover reads."""

    c_file: str
    state: str                   # merged (the default), unmerged or reconstructed
    items: tuple[MirrorItem, ...]
    span: Span = _span()
    state_span: Span = _span()


@dataclass(frozen=True)
class FieldDecl:
    """One field of a struct declaration."""

    name: str
    type: TypeRef
    const: bool
    span: Span = _span()
    size: "Expr | None" = None   # an array field: `struct obj_cgroup *objcgs[2];`


@dataclass(frozen=True)
class StructDecl:
    """`struct S { ... };`, with `refcounted` a struct whose objects carry a refcount."""

    name: str
    refcounted: bool
    fields: tuple[FieldDecl, ...]
    span: Span = _span()


@dataclass(frozen=True)
class FieldInit:
    """`.field = value` in an object declaration."""

    name: str
    value: "Expr | tuple[Expr, ...]"   # a tuple: `{ v0, v1 }` for an array field
    span: Span = _span()


@dataclass(frozen=True)
class ElementInit:
    """`[k] = { .f = v, ... }`: the record of element k of an object array."""

    index: Expr
    inits: tuple[FieldInit, ...]
    span: Span = _span()


@dataclass(frozen=True)
class ObjectDecl:
    """`object struct S name = { ... };`, or with `size` an array of objects."""

    struct_name: str
    name: str
    size: Expr | None
    inits: tuple[FieldInit, ...]
    span: Span = _span()
    elements: tuple[ElementInit, ...] = ()   # per-element records of an object array


@dataclass(frozen=True)
class SharedDecl:
    """A `shared` or `ghost` variable (or array): a global word outside any object; a ghost
    one is bookkeeping for properties that the modelled C code does not have."""

    name: str
    type: TypeRef
    ghost: bool
    size: Expr | None
    init: tuple[Expr, ...] | Expr | None
    span: Span = _span()


@dataclass(frozen=True)
class Param:
    """One parameter of a procedure."""

    name: str
    type: TypeRef
    span: Span = _span()


@dataclass(frozen=True)
class ProcDecl:
    """`proc TYPE name(params) { ... }`: a procedure the threads call."""

    name: str
    returns: TypeRef | None
    params: tuple[Param, ...]
    body: Block
    span: Span = _span()


@dataclass(frozen=True)
class ThreadDecl:
    """`thread NAME (current = &task) { ... }`: one thread of the model."""

    name: str
    current: Expr | None
    body: Block
    span: Span = _span()


@dataclass(frozen=True)
class CommonPathDecl:
    """`common_path NAME (current = &task) given { setup } { path }`: a path whose shared
    accesses `objcg-prove compare` counts (study/cost.py); not a thread of the model."""

    name: str
    current: Expr | None
    given: Block
    body: Block
    span: Span = _span()


@dataclass(frozen=True)
class FinalDecl:
    """`final { assert(c, "label"); holds(p); }`: checks on the memory at the end of every
    execution in which every thread finished (lang/final.py resolves it)."""

    body: Block
    span: Span = _span()


Decl = (Include | ConstDecl | BoundDecl | WidthDecl | MemoryModelDecl | StructDecl | ObjectDecl | SharedDecl | ProcDecl | ThreadDecl
        | CommonPathDecl | FinalDecl)


# ---- a design as a difference (lang/reuse.py applies these; no Module holds them) ----------
@dataclass(frozen=True)
class Replace:
    """`replace <declaration>`: stands instead of the declaration of the same name an included
    file defines (docs/dsl.md, "replace and extend")."""

    decl: ProcDecl | ObjectDecl | SharedDecl | ConstDecl
    span: Span = _span()


@dataclass(frozen=True)
class ExtendStruct:
    """`extend struct S { fields };`: fields added at the end of a struct an included file declares."""

    name: str
    fields: tuple[FieldDecl, ...]
    span: Span = _span()


@dataclass(frozen=True)
class ExtendObject:
    """`extend object struct S o = { .f = v };`: initialisers added to an object an included
    file declares (of fields it does not initialise: an added field, typically)."""

    decl: ObjectDecl
    span: Span = _span()


ReuseDecl = Replace | ExtendStruct | ExtendObject


@dataclass(frozen=True)
class Module:
    """One parsed file, with its includes already expanded in place (parser.load_model)."""

    path: str
    decls: tuple[Decl, ...]
