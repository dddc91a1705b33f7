"""Atomic blocks as steps: the block's wait condition (`guard`: its waits, at the top of the
block, and what fails an access before them), and, when the block has assume(), the saved
values it restores on a false one and the checks it defers to its commit."""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from ...lang import ir
from .cfg import Ctx, Goto, Instr
from .facts import Facts, nondet_calls, wait_of
from .formulas import disjunction, unsupported
from .graph import ThreadGraph
from .unit import Unit
from .waits import WaitConditions


def unchosen_marker(n: ir.Nondet) -> str:
    """A nondet() in a guard that was not chosen before the step (AtomicBlocks.guard)."""
    return f"__N{id(n)}_"


class AtomicBlocks:
    """The atomic blocks of one thread; `seq` translates a block's statements (thread.Statements)."""

    def __init__(self, graph: ThreadGraph, seq: Callable[[tuple[ir.Stmt, ...], int, Ctx], int]) -> None:
        self.g = graph
        self.x = graph.x
        self.vars = graph.vars
        self.seq = seq

    def block(self, st: ir.Atomic, k: int, ctx: Ctx) -> int:
        if ctx.in_atomic:
            return self.seq(st.body, k, ctx)
        inner = replace(ctx, in_atomic=True)
        flat = ir.flatten(st.body)
        waits: list[ir.Expr | ir.SharedLoc | None] = [w for w in map(wait_of, flat) if w is not None]
        # the nondet() of a statement before a wait, where it decides whether the statement
        # fails an access (then the step runs whatever the wait says), is chosen with the waits'
        guard, _ = self.guard(st, ctx)
        waits += [n for s in flat if wait_of(s) is None for n in nondet_calls(s) if unchosen_marker(n) in (guard or "")]

        facts = Facts(self.x.prog)
        for s in st.body:
            facts.stmt(s)

        def make(k2: int) -> int:
            if not facts.assumes:
                body = self.seq(st.body, k2, inner)
                guard, step = self.guard(st, ctx)
                if guard is not None:
                    self.g.has_wait = True
                return self.g.add(Instr([self.x.comment(st.span)], Goto(body), boundary=step, guard=guard))
            # assume() inside: save what the block may write, defer its checks to the commit,
            # and on a false assume restore everything (the thread stays before the block); a
            # failed access commits what the block did so far, and the thread stops
            undo = self.g.add(Instr([], None, kind="rollback"))
            commit = self.g.add(Instr([], Goto(k2)))
            failing = self.g.add(Instr([], None, kind="stop"))
            self.vars.deferred, self.vars.recording = [], {}
            body = self.seq(st.body, commit, replace(inner, rollback=undo, fail=failing))
            guard, _ = self.guard(st, ctx)
            deferred, recorded = self.vars.deferred, list(self.vars.recording)
            self.vars.deferred = self.vars.recording = None
            if guard is not None:
                self.g.has_wait = True
            saved = [self.x.loc_names[i] for i in sorted(facts.written_locs)] + recorded
            copies = [self.vars.new_local("saved") for _ in saved]
            clean = [f"{c} = 0;" for c in copies] + [f"{flag} = 1;" for _, flag in deferred]
            self.g.instrs[undo].code = [f"{v} = {c};" for v, c in zip(saved, copies)] + clean
            self.g.instrs[commit].code = [line for prop, flag in deferred for line in self.x.check(prop, f"({flag} != 0)")] + clean
            self.g.instrs[failing].code = list(self.g.instrs[commit].code)
            entry = [self.x.comment(st.span)] + [f"{c} = {v};" for v, c in zip(saved, copies)]
            return self.g.add(Instr(entry, Goto(body), boundary=True, guard=guard))
        return self.g.choosing(waits, k, make, st.span)

    def guard(self, st: ir.Atomic, ctx: Ctx) -> tuple[str | None, bool]:
        """The wait condition of an atomic block, evaluated before it runs, and whether the block
        is a step. Waits must be at the top of the block and independent of what precedes them.
        The block runs when its statements, in order up to its last wait, reach a failed access
        (docs/semantics.md, "Failed accesses") before a wait that is false: `p1 || (w1 && (p2 ||
        ...))`. A nondet() not chosen before the step stands in it as its `unchosen_marker`."""
        parts: list[tuple[str, str | None]] = []   # per statement: (poison, wait condition)
        written_locals: set[int] = set()
        written_locs: set[int] = set()
        probe = WaitConditions(Unit(self.vars, ctx))
        step = False
        flat = ir.flatten(st.body)
        last = max((i for i, s in enumerate(flat) if wait_of(s) is not None), default=-1)
        unchosen = [n for s in flat[:last + 1] for n in nondet_calls(s) if id(n) not in self.vars.prechosen]
        self.vars.prechosen.update((id(n), unchosen_marker(n)) for n in unchosen)
        try:
            for i, s in enumerate(flat):
                facts = Facts(self.x.prog)
                facts.stmt(s)
                step = step or facts.shared or facts.waits
                wait = wait_of(s)
                if wait is None and facts.waits:
                    raise unsupported(facts.wait_span or st.span, "a wait inside a branch or a called procedure of an atomic block")
                if wait is not None:
                    reads = Facts(self.x.prog)
                    if isinstance(wait, ir.SharedLoc):
                        reads.loc(wait, read=True)
                    else:
                        reads.expr(wait)
                    if reads.read_locals & written_locals or reads.read_locs & written_locs:
                        raise unsupported(s.span, "a wait that depends on an earlier statement of its atomic block")
                    parts.append(probe.lock_parts(wait, s.span) if isinstance(wait, ir.SharedLoc)
                                 else probe.wait_parts(wait, s.span))
                elif i < last:
                    parts.append((probe.pure_stmts((s,)), None))
                written_locals |= facts.written_locals
                written_locs |= facts.written_locs
        finally:
            for n in unchosen:
                del self.vars.prechosen[id(n)]
        guard = ""
        for poison, wait in reversed(parts):
            rest = guard if wait is None else f"({wait} && {guard})" if guard else wait
            guard = disjunction(poison, rest) if rest else poison
        return guard or None, step

