"""Limits of the solver are verdicts of `unknown`, never a tool bug or a wrong answer."""

from __future__ import annotations

import pytest
import z3

from objcg_proof.prove import solver
from objcg_proof.prove.solver import Outcome, SolverOptions


class _Exhausted:
    """A z3 solver that runs out of memory as z3 reports it: by raising."""

    def __init__(self, message: bytes) -> None:
        self.message = message

    def check(self, *assumptions: object) -> object:
        raise z3.Z3Exception(self.message)


def test_a_solver_out_of_memory_is_unknown_with_its_reason():
    answer = solver._ask(_Exhausted(b"out of memory"), SolverOptions(), [])   # type: ignore[arg-type]
    assert answer.outcome == Outcome.UNKNOWN
    assert answer.reason.startswith("the solver ran out of memory (its limit: ")


def test_other_solver_exceptions_are_not_taken_for_a_limit():
    with pytest.raises(z3.Z3Exception):
        solver._ask(_Exhausted(b"invalid argument"), SolverOptions(), [])   # type: ignore[arg-type]
