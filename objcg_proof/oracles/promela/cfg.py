"""The control-flow graph of one thread, as the export builds it: instructions (Promela
statements, then a jump or a branch) and the context a statement is translated in (its inlined
call, loop exits, atomic block)."""

from __future__ import annotations

from dataclasses import dataclass

FAIL = "goto __FAILED__;"   # in a unit's code: a failed access, the jump to its `fail` instruction


@dataclass(frozen=True)
class Goto:
    target: int


@dataclass(frozen=True)
class Branch:
    cond: str
    then: int
    other: int


@dataclass
class Instr:
    """Promela statements (temporaries written `__Tk`), then a jump. FINISH and STOP end a thread."""

    code: list[str]
    nxt: Goto | Branch | None
    kind: str = ""                 # "" | "finish" | "stop" | "rollback" (undo the node, stay)
    boundary: bool = False         # an atomic step starts here: a scheduling point
    guard: str | None = None       # the step can only run when this holds
    assume: bool = False           # the guard is an assume(): waiting there is not blocking
    nondet: bool = False
    ntemps: int = 0
    in_atomic: bool = False
    fail: int | None = None        # where a failed access in `code` (FAIL) goes: a "stop" instruction


@dataclass(frozen=True)
class Ctx:
    inst: int                      # inlined call instance (0: the thread's own body)
    brk: int | None = None
    cont: int | None = None
    exit: int | None = None        # the procedure's exit instruction (None in the thread body)
    ret: str | None = None         # where `return e` stores e
    in_atomic: bool = False
    locals: list[str] | None = None  # the instance's locals, reset on return
    rollback: int | None = None      # in an atomic block with assume(): where a false one goes
    fail: int | None = None          # where a failed access goes (None: the thread's `stop`)

