"""The only place a z3 solver is created and asked: options, frames, outcomes.

`check()` answers SAT, UNSAT or UNKNOWN with a reason; it never returns a bool, so an unknown
can never be mistaken for a proof. Frames are `with` blocks whose pop sits in `finally`.
"""

from __future__ import annotations

import enum
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import z3


class Outcome(enum.Enum):
    SAT = "sat"
    UNSAT = "unsat"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class SolverOptions:
    """Every solver default lives here."""

    timeout_s: float = 300.0   # per query; an expired query is UNKNOWN, never a proof
    rlimit: int = 0            # z3 resource limit per query (0: none); deterministic, unlike time
    seed: int = 0


@dataclass(frozen=True)
class CheckResult:
    outcome: Outcome
    reason: str = ""
    model: z3.ModelRef | None = None


class Session:
    def __init__(self, options: SolverOptions) -> None:
        self.options = options
        self._solver = z3.Solver()
        params: dict[str, object] = {"random_seed": options.seed}
        if options.timeout_s > 0:
            params["timeout"] = max(1, int(options.timeout_s * 1000))
        if options.rlimit > 0:
            params["rlimit"] = options.rlimit
        self._solver.set(**params)

    def add(self, constraints: list[z3.BoolRef] | z3.BoolRef) -> None:
        self._solver.add(constraints)

    @contextmanager
    def frame(self) -> Iterator[None]:
        self._solver.push()
        try:
            yield
        finally:
            self._solver.pop()

    def check(self) -> CheckResult:
        started = time.perf_counter()
        answer = self._solver.check()
        if answer == z3.sat:
            return CheckResult(Outcome.SAT, "", self._solver.model())
        if answer == z3.unsat:
            return CheckResult(Outcome.UNSAT)
        reason = self._solver.reason_unknown() or "the solver gave no reason"
        elapsed = time.perf_counter() - started
        if self.options.rlimit > 0 and ("resource" in reason or ("canceled" in reason and elapsed < 0.9 * self.options.timeout_s)):
            reason = f"solver resource limit (rlimit {self.options.rlimit}) exhausted after {elapsed:.1f}s ({reason})"
        elif "timeout" in reason or "canceled" in reason:
            reason = f"solver timeout after {self.options.timeout_s:g}s ({reason})"
        return CheckResult(Outcome.UNKNOWN, reason)
