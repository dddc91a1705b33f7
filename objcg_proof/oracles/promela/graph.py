"""The control-flow graph of one thread as it is built: its instructions, the two ends (finish,
stop), one unit as an instruction, and a step whose wait condition chooses nondet() values."""

from __future__ import annotations

import itertools
import re
from typing import Callable

from ...lang import ir
from ...lang.diagnostics import Span
from .cfg import Branch, Ctx, Goto, Instr
from .context import ExportContext
from .facts import nondet_calls
from .final import end_code
from .formulas import unsupported
from .unit import Unit
from .variables import ThreadVariables

MAX_CHOICES = 64           # combinations of nondet() values a wait condition may enumerate


class ThreadGraph:
    """One thread's instructions (`instrs`, the entry set by thread.build_thread once its body is
    built), its variables (`vars`), and whether it can wait (`has_wait`: a deadlock is possible)."""

    def __init__(self, x: ExportContext, thread: ir.Thread) -> None:
        self.x = x
        self.thread = thread
        self.vars = ThreadVariables(x, thread)
        self.instrs: list[Instr] = []
        self.has_wait = False
        self.finish = self.add(Instr(end_code(x), None, kind="finish"))
        self.stop = self.add(Instr([], None, kind="stop"))
        self.entry = -1   # the first instruction: set by thread.build_thread once the body is built

    def add(self, instr: Instr) -> int:
        self.instrs.append(instr)
        return len(self.instrs) - 1

    def unit(self, span: Span, ctx: Ctx, build: Callable[[Unit], object], k: int,
             guard: Callable[[Unit], str] | None = None, assume: bool = False) -> int:
        """One unit: its code, then `k` (or a branch on the value `build` returns, if `k` < 0)."""
        u = Unit(self.vars, ctx)
        u.lines.append(self.x.comment(span))
        value = build(u)
        step = not ctx.in_atomic and (u.shared or guard is not None)
        g = guard(u) if guard is not None and not ctx.in_atomic else None
        if g is not None and not assume:
            self.has_wait = True
        nxt: Goto | Branch = Goto(k)
        if isinstance(value, tuple):
            nxt = Branch(*value)
        fail = (self.stop if ctx.fail is None else ctx.fail) if u.fails else None
        return self.add(Instr(u.lines, nxt, boundary=step, guard=g, assume=assume and g is not None,
                              nondet=u.nondet, ntemps=u.ntemps, in_atomic=ctx.in_atomic, fail=fail))

    def choosing(self, exprs: list[ir.Expr | ir.SharedLoc | None], k: int, make: Callable[[int], int],
                 span: Span) -> int:
        """A step whose wait condition makes choices (`nondet()`): the thread can move when some
        choice makes the condition true, so the node's guard is the disjunction over every
        combination of values, and the step itself runs with one of the combinations that do
        (a wait on nondet() is not blocked while some choice succeeds)."""
        nondets = [n for e in exprs for n in nondet_calls(e)]
        if not nondets:
            return make(k)
        chosen: list[tuple[str, int]] = []
        for n in nondets:
            name = self.vars.new_choice()
            self.vars.prechosen[id(n)] = name
            chosen.append((name, self.x.mask if n.limit is None else min(n.limit - 1, self.x.mask)))
        combos = 1
        for _, hi in chosen:
            combos *= hi + 1
        if combos > MAX_CHOICES:
            raise unsupported(span, f"a wait condition with {combos} combinations of nondet() values "
                                    f"(more than {MAX_CHOICES})")
        reset = self.add(Instr([f"{name} = 0;" for name, _ in chosen], Goto(k)))
        first = make(reset)
        entry = self.instrs[first]
        for n in nondets:
            del self.vars.prechosen[id(n)]
        assert entry.boundary and entry.guard is not None
        options: list[tuple[str, list[str]]] = []
        for values in itertools.product(*[range(hi + 1) for _, hi in chosen]):
            guard = entry.guard
            for (name, _), v in zip(chosen, values):
                guard = re.sub(rf"\b{name}\b", str(v), guard)
            options.append((f"({guard})", [f"{name} = {v};" for (name, _), v in zip(chosen, values)]))
        entry.guard = "(" + " || ".join(g for g, _ in options) + ")"
        entry.code = ["if"] + [f":: {g} -> {' '.join(sets)}" for g, sets in options] + ["fi;"] + entry.code
        entry.nondet = True
        return first

