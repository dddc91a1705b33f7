"""Constraint groups held back from the solver until an assignment violates them
(NOTE(held-groups) in prove/held.py): the session's answers are those of the whole encoding, and
only the violated groups are added."""

from __future__ import annotations

import z3

from objcg_proof.prove.held import Held, HeldBack
from objcg_proof.prove.solver import Outcome, Session, SolverOptions

x = z3.BitVec("held-test-x", 8)
f = z3.BitVec("held-test-f", 1)
g = z3.BitVec("held-test-g", 1)
# forbids x == 3 through a variable of its own
NOT_THREE = Held("not 3", (z3.Implies(x == 3, f == 1), z3.Implies(x == 3, f == 0)), frozenset({str(f)}))
# forbids x == 5 the same way; no query below reaches 5
NOT_FIVE = Held("not 5", (z3.Implies(x == 5, g == 1), z3.Implies(x == 5, g == 0)), frozenset({str(g)}))


def _session(held: HeldBack | None) -> Session:
    session = Session(SolverOptions(), held=held)
    session.add(z3.Or(x == 3, x == 4))
    return session


def test_a_violated_group_is_added_and_the_answer_is_the_whole_encodings() -> None:
    held = HeldBack([NOT_THREE, NOT_FIVE])
    session = _session(held)
    with session.frame():
        session.add(x == 3)
        assert session.check().outcome == Outcome.UNSAT
    assert [h.label for h in held.added] == ["not 3"]
    assert [h.label for h in held.pending] == ["not 5"]
    answer = session.check()   # the group stays added: only x == 4 is left
    assert answer.outcome == Outcome.SAT and answer.model is not None
    assert answer.model.eval(x).as_long() == 4


def test_without_the_groups_the_same_query_is_sat() -> None:
    session = _session(None)
    with session.frame():
        session.add(x == 3)
        assert session.check().outcome == Outcome.SAT


def test_a_group_never_violated_stays_out() -> None:
    held = HeldBack([NOT_THREE, NOT_FIVE])
    session = _session(held)
    with session.frame():
        session.add(x == 4)
        assert session.check().outcome == Outcome.SAT
    assert held.added == [] and len(held.pending) == 2


def test_a_variable_the_solver_never_saw_takes_its_completed_value() -> None:
    """A group over a variable of the encoding the assignment leaves out is judged with the value
    the session's evaluation gives it (0), not a free one: here that violates the group, which
    is added, and the answer's assignment satisfies it."""
    y = z3.BitVec("held-test-y", 8)
    held = HeldBack([Held("y is 1", (y == 1,), frozenset())])
    session = _session(held)
    answer = session.check()
    assert answer.outcome == Outcome.SAT and answer.model is not None
    assert answer.model.eval(y, model_completion=True).as_long() == 1
    assert len(held.added) == 1


def test_checks_under_assumptions_add_violated_groups_too() -> None:
    held = HeldBack([NOT_THREE])
    session = _session(held)
    with session.incremental() as inc:
        assert inc.check([x == 3]).outcome == Outcome.UNSAT
        answer = inc.check([])
    assert answer.outcome == Outcome.SAT and answer.model is not None
    assert answer.model.eval(x).as_long() == 4
    assert len(held.added) == 1


def test_a_group_of_flags_is_judged_as_a_solver_judges_it() -> None:
    """The marked level's flag families say their bounds and forbids (NOTE(held-groups)): their
    least solution judges an assignment as a solver asked about the group's constraints does.
    MP+lock+plain's outcome, reached with the families held back, violates one."""
    from unittest import mock

    from objcg_proof.lang import syntax as s
    from objcg_proof.lang.litmus_parser import parse_litmus
    from objcg_proof.lang.parser import parse_text
    from objcg_proof.lang.resolve import resolve
    from objcg_proof.prove import held as held_mod, lkmm_clocks
    from objcg_proof.prove.encode import encode
    from objcg_proof.prove.litmus import model_text
    from objcg_proof.prove.lkmm import MARKED
    from objcg_proof.prove.unroll import unroll

    text = ("C MP+lock+plain\n{}\n"
            "P0(int *x, int *y, spinlock_t *s) { spin_lock(s); *x = 1; WRITE_ONCE(*y, 1); spin_unlock(s); }\n"
            "P1(int *x, int *y, spinlock_t *s) { int r0; int r1; spin_lock(s); r1 = READ_ONCE(*y); r0 = *x; "
            "spin_unlock(s); }\nexists (1:r1=1 /\\ 1:r0=0)\n")
    dsl, name = model_text(parse_litmus(text, "t.litmus"))
    prog = unroll(resolve(s.Module(name, tuple(parse_text(dsl, name)))))
    with mock.patch.object(lkmm_clocks, "hold_limit", return_value=-1):
        enc = encode(prog, "lkmm", axioms=MARKED)
    assert enc.held_back and all(g.bounds is not None for g in enc.held_back)
    solver = z3.Solver()
    solver.add(enc.base)
    for label in ("condition", "negation"):
        solver.push()
        solver.add(enc.violation([c for c in prog.checks if c.kind == "assert" and c.label == label]))
        assert solver.check() == z3.sat
        model = solver.model()
        judged = [held_mod._flags_extend(held_mod._Guards(model), g) for g in enc.held_back]
        assert judged == [held_mod._extends(model, g) for g in enc.held_back]
        if label == "condition":   # the outcome only a family forbids
            assert not all(judged)
        solver.pop()
