"""Compiling a thread to units (NOTE(interpreter-units)): the code the reference interpreter runs.

Input: an `ir.Thread` of an `ir.Program`. Output: a list of `Instr`, indexed by position (pc):
units (statements, procedure arguments, a call's result), branch conditions, return values,
jumps, and the thread's end. Procedure calls are inlined; loops, `break`, `continue` and
`return` become jumps and branches. run.py runs a unit, machine.py a thread's units.

NOTE(interpreter-units): a thread's code is compiled to units (statements, branch conditions,
return values, procedure arguments), as docs/semantics.md "Threads, statements and steps"
defines them. A thread always rests right before a unit that must be a step (it touches shared
memory or waits) or at its end: the pure units after a step run with that step. Whether a unit
is a step is decided by running it: a pure run raises `_NeedsStep` at its first access.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..lang import ir
from ..lang.diagnostics import Span


@dataclass(frozen=True)
class Instr:
    """One instruction of a thread's program for the interpreter: a unit of work or a jump."""

    kind: str                     # unit | branch | ret | jump | again (a spin loop goes round) | end
    span: Span
    stmt: ir.Stmt | None = None
    expr: ir.Expr | None = None
    result: ir.LocalVar | None = None
    next: int = -1
    alt: int = -1


class _Compiler:
    """Compiles the threads of one program, one after the other (`thread`)."""

    def __init__(self, program: ir.Program) -> None:
        self.program = program
        self.code: list[Instr] = []

    def emit(self, instr: Instr) -> int:
        self.code.append(instr)
        return len(self.code) - 1

    def patch(self, pc: int, **changes: int) -> None:
        from dataclasses import replace

        self.code[pc] = replace(self.code[pc], **changes)  # type: ignore[arg-type]

    def thread(self, t: ir.Thread) -> list[Instr]:
        self.code = []
        ends: list[int] = []
        self.block(t.body, loop=None, ret=(ends, None))
        end = self.emit(Instr("end", t.span))
        for pc in ends:
            self.patch(pc, next=end)
        for pc, ins in enumerate(self.code):
            if ins.next == -1 and ins.kind != "end":
                self.patch(pc, next=pc + 1)
        return self.code

    def block(self, stmts: tuple[ir.Stmt, ...], loop: tuple[list[int], list[int]] | None,
              ret: tuple[list[int], ir.LocalVar | None]) -> None:
        for st in stmts:
            self.stmt(st, loop, ret)

    def stmt(self, st: ir.Stmt, loop: tuple[list[int], list[int]] | None,
             ret: tuple[list[int], ir.LocalVar | None]) -> None:
        if isinstance(st, ir.Seq):
            self.block(st.body, loop, ret)
        elif isinstance(st, (ir.AssignLocal, ir.AssignShared, ir.Eval, ir.Check, ir.Assume, ir.Await, ir.Atomic)):
            self.emit(Instr("unit", st.span, stmt=st))
        elif isinstance(st, ir.If):
            br = self.emit(Instr("branch", _span(st.cond, st.span), expr=st.cond))
            self.block(st.then, loop, ret)
            jump = self.emit(Instr("jump", st.span))
            self.patch(br, next=br + 1, alt=len(self.code))
            self.block(st.other, loop, ret)
            self.patch(jump, next=len(self.code))
        elif isinstance(st, ir.Loop):
            breaks: list[int] = []
            conts: list[int] = []
            # NOTE(spin-again): a spin loop (docs/semantics.md, "Spin loops") goes round again
            # through an `again` instruction instead of a jump back; `alt` is the loop's first pc
            if st.cond_first:
                head = self.emit(Instr("branch", _span(st.cond, st.span), expr=st.cond))
                self.block(st.body, (breaks, conts), ret)
                step_at = len(self.code)
                self.block(st.step, loop, ret)
                self.emit(Instr("again", st.span, alt=head) if st.spin else Instr("jump", st.span, next=head))
                exit_pc = len(self.code)
                self.patch(head, next=head + 1, alt=exit_pc)
            else:
                start = len(self.code)
                self.block(st.body, (breaks, conts), ret)
                step_at = len(self.code)
                self.block(st.step, loop, ret)
                cond = self.emit(Instr("branch", _span(st.cond, st.span), expr=st.cond))
                again = self.emit(Instr("again", st.span, alt=start)) if st.spin else start
                exit_pc = len(self.code)
                self.patch(cond, next=again, alt=exit_pc)
            for pc in breaks:
                self.patch(pc, next=exit_pc)
            for pc in conts:
                self.patch(pc, next=step_at)
        elif isinstance(st, ir.Break):
            assert loop is not None
            loop[0].append(self.emit(Instr("jump", st.span)))
        elif isinstance(st, ir.Continue):
            assert loop is not None
            loop[1].append(self.emit(Instr("jump", st.span)))
        elif isinstance(st, ir.Return):
            targets, result = ret
            targets.append(self.emit(Instr("ret", st.span, expr=st.value, result=result)))
        elif isinstance(st, ir.CallProc):
            proc = self.program.proc(st.proc)
            for p, a in zip(proc.params, st.args):
                self.emit(Instr("unit", _span(a, st.span), stmt=ir.AssignLocal(p, a, _span(a, st.span))))
            returns: list[int] = []
            self.block(proc.body, None, (returns, st.result))
            if st.result is not None:
                # a procedure with a value that ends without `return` returns 0 (docs/semantics.md)
                self.emit(Instr("unit", st.span, stmt=ir.AssignLocal(
                    st.result, ir.Const(0, st.result.type, st.span), st.span)))
            after = len(self.code)
            for pc in returns:
                self.patch(pc, next=after)
        else:
            raise AssertionError(f"unhandled statement {type(st).__name__}")


def _span(node: object, default: Span) -> Span:
    return getattr(node, "span", default)
