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
    value: int
    span: Span = _span()


@dataclass(frozen=True)
class Null:
    span: Span = _span()


@dataclass(frozen=True)
class Str:
    text: str
    span: Span = _span()


@dataclass(frozen=True)
class Name:
    ident: str
    span: Span = _span()


@dataclass(frozen=True)
class Unary:
    op: str  # ! ~ - +
    operand: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class Binary:
    op: str
    left: "Expr"
    right: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class Ternary:
    cond: "Expr"
    then: "Expr"
    other: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class AddressOf:
    operand: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class Deref:
    """`*pp`: the word a pointer to a pointer points to."""

    operand: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class Cast:
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
    base: "Expr"
    index: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class Call:
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
    declarators: tuple[Declarator, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Assign:
    target: Expr
    value: Expr
    span: Span = _span()


@dataclass(frozen=True)
class ExprStmt:
    expr: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Block:
    body: tuple["Stmt", ...]
    span: Span = _span()


@dataclass(frozen=True)
class If:
    cond: Expr
    then: "Stmt"
    other: "Stmt | None"
    span: Span = _span()


@dataclass(frozen=True)
class While:
    cond: Expr
    body: "Stmt"
    span: Span = _span()


@dataclass(frozen=True)
class DoWhile:
    body: "Stmt"
    cond: Expr
    span: Span = _span()


@dataclass(frozen=True)
class For:
    init: "Stmt | None"
    cond: Expr | None
    step: "Stmt | None"
    body: "Stmt"
    span: Span = _span()


@dataclass(frozen=True)
class Break:
    span: Span = _span()


@dataclass(frozen=True)
class Continue:
    span: Span = _span()


@dataclass(frozen=True)
class Return:
    value: Expr | None
    span: Span = _span()


@dataclass(frozen=True)
class Atomic:
    body: Block
    span: Span = _span()


@dataclass(frozen=True)
class Empty:
    span: Span = _span()


Stmt = LocalDecl | Assign | ExprStmt | Block | If | While | DoWhile | For | Break | Continue | Return | Atomic | Empty


# ---- top-level declarations ----------------------------------------------------------------
@dataclass(frozen=True)
class Include:
    path: str
    span: Span = _span()


@dataclass(frozen=True)
class ConstDecl:
    name: str
    value: Expr
    is_param: bool
    span: Span = _span()


@dataclass(frozen=True)
class BoundDecl:
    value: Expr
    span: Span = _span()


@dataclass(frozen=True)
class WidthDecl:
    value: Expr
    span: Span = _span()


@dataclass(frozen=True)
class FieldDecl:
    name: str
    type: TypeRef
    const: bool
    span: Span = _span()
    size: "Expr | None" = None   # an array field: `struct obj_cgroup *objcgs[2];`


@dataclass(frozen=True)
class StructDecl:
    name: str
    refcounted: bool
    fields: tuple[FieldDecl, ...]
    span: Span = _span()


@dataclass(frozen=True)
class FieldInit:
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
    struct_name: str
    name: str
    size: Expr | None
    inits: tuple[FieldInit, ...]
    span: Span = _span()
    elements: tuple[ElementInit, ...] = ()   # per-element records of an object array


@dataclass(frozen=True)
class SharedDecl:
    name: str
    type: TypeRef
    ghost: bool
    size: Expr | None
    init: tuple[Expr, ...] | Expr | None
    span: Span = _span()


@dataclass(frozen=True)
class Param:
    name: str
    type: TypeRef
    span: Span = _span()


@dataclass(frozen=True)
class ProcDecl:
    name: str
    returns: TypeRef | None
    params: tuple[Param, ...]
    body: Block
    span: Span = _span()


@dataclass(frozen=True)
class ThreadDecl:
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


Decl = (Include | ConstDecl | BoundDecl | WidthDecl | StructDecl | ObjectDecl | SharedDecl | ProcDecl | ThreadDecl
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
