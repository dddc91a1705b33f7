"""The Promela variables of one thread being exported: its locals (a procedure's renamed per
inlined call; some start at a value other than 0), the nondet() values chosen before a step,
and the checks that an atomic block with assume() defers to its commit."""

from __future__ import annotations

from ...lang import ir
from ...lang.diagnostics import Diagnostic, Span, UserError
from .cfg import Ctx
from .context import ExportContext
from .formulas import ident


class ThreadVariables:
    """A thread's locals and chosen values, and where its check sites go."""

    def __init__(self, x: ExportContext, thread: ir.Thread) -> None:
        self.x = x
        self.thread = thread
        self.locals: dict[str, None] = {}
        self.choices = 0
        self.prechosen: dict[int, str] = {}   # id(ir.Nondet) -> the local chosen before its step
        self.inits: dict[str, int] = {}       # locals that do not start at 0
        self.deferred: list[tuple[str, str]] | None = None  # in an atomic block with assume()
        self.recording: dict[str, None] | None = None       # locals named in that block

    def local(self, var: ir.LocalVar, ctx: Ctx) -> str:
        name = f"l_{ident(var.name)}_{var.uid}" + (f"_{ctx.inst}" if ctx.inst else "")
        self.locals[name] = None
        if self.recording is not None:
            self.recording[name] = None
        if ctx.locals is not None and name not in ctx.locals:
            ctx.locals.append(name)
        return name

    def new_local(self, prefix: str, init: int = 0) -> str:
        name = f"{prefix}_{len(self.locals) + 1}"
        self.locals[name] = None
        if init:
            self.inits[name] = init
        return name

    def check(self, prop: str, cond: str | None) -> list[str]:
        """A check site; inside an atomic block with assume() it only counts if the block
        completes, so its outcome is kept in a flag and checked when the block commits."""
        if self.deferred is None:
            return self.x.check(prop, cond)
        self.x.sites.add(prop)
        flag = self.new_local("ok", init=1)
        self.deferred.append((prop, flag))
        return [f"{flag} = {'0' if cond is None else f'({cond} != 0)'};"]

    def current_address(self, span: Span) -> int:
        if self.thread.current is None:
            name = self.thread.name
            raise UserError(Diagnostic(span, f"'current' is used in thread {name}, which names no task: "
                                             f"declare it as 'thread {name} (current = &task)'"))
        return self.x.layout.objects[self.thread.current].address

    def new_choice(self) -> str:
        """The local that holds a nondet() value chosen before its step (ThreadGraph.choosing)."""
        self.choices += 1
        name = f"c_{self.choices}"
        self.locals[name] = None
        return name
