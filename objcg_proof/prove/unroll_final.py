"""The `final` block in the unroll stage: ir.Final -> FINAL reads, final check sites, held pointers.

A final expression (lang/final.py: pure, total, its locations named statically) is evaluated
by the thread expression evaluator (unroll_exprs.py) in a state that belongs to no thread; each
read it makes becomes a FINAL event of its location (one per location, shared with the leak
check's refcount reads), whose value is the location's last write or its initial value. Its
checks become `events.Check` sites of no thread (`thread` = FINAL_THREAD), reached exactly when
every thread finished (prove/encode.py, `_checks`); the pointers of `holds` become terms for the
leak formula (`EventProgram.holds`). docs/semantics.md, "End-of-run checks".
"""

from __future__ import annotations

from ..lang import ir
from .events import FINAL, READ, Check
from .terms import TRUE, Const, Sym, Term, substitute
from .unroll_exprs import ExprEvaluator
from .unroll_steps import Collector, EventSpec, PendingStep, StepRecorder, ThreadState

FINAL_THREAD = -1   # the `thread` of a final check site: it belongs to no thread


def final_message(check: ir.Check) -> str:
    return f"assertion{' ' + check.label if check.label else ''} failed at the end of the run"


class FinalUnroller:
    """Evaluates the final block's expressions on the final memory (FINAL reads)."""

    def __init__(self, u: Collector, finals: dict[int, Sym]) -> None:
        self.u = u
        self.finals = finals     # location -> the value of its FINAL read
        self.s = ThreadState(FINAL_THREAD, ir.Thread("final", None, ()))
        self.exprs = ExprEvaluator(u, self.s, StepRecorder(u, self.s))

    def run(self, final: ir.Final) -> tuple[Term, ...]:
        """Adds the final check sites to the collector; returns the held pointers' terms."""
        tb = self.u.tb
        for c in final.checks:
            cond = tb.truth(self.term(c.cond, c.span))
            self.u.checks.append(Check(len(self.u.checks), c.kind, c.label, FINAL_THREAD, TRUE, cond, None, -1,
                                       c.span, final_message(c)))
        return tuple(tb.to_word(self.term(h.pointer, h.span)) for h in final.holds)

    def term(self, e: ir.Expr, span) -> Term:  # type: ignore[no-untyped-def]
        s = self.s
        s.g = s.cg = TRUE
        s.pending = PendingStep(span, TRUE)
        value = self.exprs.expr(e)
        pending, s.pending = s.pending, None
        # a pure, total expression: no choice, no write, no wait, no access that can fail
        assert not pending.nondets and pending.enabled is None and not pending.fails
        assert all(cond is TRUE for _, _, _, cond, _, _ in pending.checks)
        mapping: dict[int, Term] = {}
        for spec in pending.events:
            assert spec.kind == READ and isinstance(spec.loc, Const) and spec.read is not None
            mapping[id(spec.read)] = self.final_read(spec.loc.value)
        return substitute(value, mapping, self.u.tb)

    def final_read(self, loc: int) -> Sym:
        sym = self.finals.get(loc)
        if sym is None:
            tb = self.u.tb
            spec = EventSpec(FINAL, tb.word(loc), (loc,), self.u.fresh("final"), None, TRUE, "plain", "final")
            self.u.add_event(spec, FINAL_THREAD, -1, 0)
            sym = self.finals[loc] = spec.read  # type: ignore[assignment]
        return sym  # type: ignore[return-value]
