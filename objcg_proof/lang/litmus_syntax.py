"""A C litmus test as the kernel writes it (tools/memory-model/litmus-tests): frozen dataclasses
built by lang/litmus_parser.py.

The threads' code reuses the DSL's expression and statement nodes (lang/syntax.py: `Num`,
`Name`, `Unary`, `Binary`, `Deref`, `AddressOf`, `Call`, `Assign`, `ExprStmt`, `Block`, `If`,
`Empty`); what only a litmus test has is here: C types (`int *`, `atomic_t *`, `spinlock_t *`),
declarations of registers, the initial state, `locations`, `filter` and the final condition.
Every node carries its `span`, kept out of equality.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import syntax as s
from .diagnostics import NO_SPAN, Span


def _span() -> Span:
    return field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class CType:
    """A C type of the litmus format: a base (`int`, `atomic_t`, `spinlock_t` ...) and how many
    `*` follow it."""

    base: str
    pointers: int = 0


# ---- the initial state ---------------------------------------------------------------------
@dataclass(frozen=True)
class InitAddress:
    """`&x` (or herd's bare `x`) as an initial value: the address of the shared variable x."""

    name: str
    span: Span = _span()


InitValue = s.Num | InitAddress


@dataclass(frozen=True)
class InitShared:
    """`int x = 1;`, `int *y = &x;`, `spinlock_t lo;`: a shared variable, its type if declared
    (old-style initial states declare every variable), its initial value if given (else 0)."""

    name: str
    type: CType | None
    value: InitValue | None
    span: Span = _span()


@dataclass(frozen=True)
class InitRegister:
    """`0:r1 = 2;`: the initial value of a register of a thread."""

    thread: int
    register: str
    type: CType | None
    value: InitValue | None
    span: Span = _span()


# ---- threads -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Param:
    """A parameter of a thread, `int *x`: names the shared variable x (a litmus test passes
    every shared variable by address)."""

    name: str
    type: CType
    span: Span = _span()


@dataclass(frozen=True)
class Declarator:
    """One register of a declaration: `r0`, `*r0` (a pointer) or `r0 = READ_ONCE(*x)`."""

    name: str
    pointers: int
    init: s.Expr | None
    span: Span = _span()


@dataclass(frozen=True)
class Decl:
    """`int r0, r1;`: registers (local variables) of a thread."""

    base: str
    declarators: tuple[Declarator, ...]
    span: Span = _span()


Stmt = Decl | s.Assign | s.ExprStmt | s.Block | s.If | s.Empty


@dataclass(frozen=True)
class Thread:
    """`P0(int *x, int *y) { ... }`: thread `index` (Pn is thread n)."""

    index: int
    params: tuple[Param, ...]
    body: s.Block
    span: Span = _span()


# ---- locations, filter and the final condition ---------------------------------------------
@dataclass(frozen=True)
class SharedLoc:
    """A shared variable named in a condition or `locations`: its final value."""

    name: str
    span: Span = _span()


@dataclass(frozen=True)
class RegisterLoc:
    """`1:r0`: the final value of register r0 of thread 1."""

    thread: int
    register: str
    span: Span = _span()


Location = SharedLoc | RegisterLoc


@dataclass(frozen=True)
class Equal:
    """`loc=v`: the final value of `loc` is the number `v`, or (a name) the address of that
    shared variable."""

    location: Location
    value: int | str
    span: Span = _span()


@dataclass(frozen=True)
class Not:
    """`~c` (or `not c`)."""

    operand: "Cond"
    span: Span = _span()


@dataclass(frozen=True)
class And:
    """`a /\\ b`."""

    left: "Cond"
    right: "Cond"
    span: Span = _span()


@dataclass(frozen=True)
class Or:
    """`a \\/ b`."""

    left: "Cond"
    right: "Cond"
    span: Span = _span()


@dataclass(frozen=True)
class Truth:
    """`true` or `false`."""

    value: bool
    span: Span = _span()


Cond = Equal | Not | And | Or | Truth

QUANTIFIERS = ("exists", "~exists", "forall")


@dataclass(frozen=True)
class LitmusTest:
    """One litmus file. `quantifier` is one of QUANTIFIERS; `condition` is what it quantifies,
    over the final states of the executions that pass `filter` (None: all of them)."""

    path: str
    name: str
    init: tuple[InitShared | InitRegister, ...]
    threads: tuple[Thread, ...]
    locations: tuple[Location, ...]
    filter: Cond | None
    quantifier: str
    condition: Cond
    span: Span = _span()
