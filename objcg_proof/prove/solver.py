"""The only place a z3 solver is created and asked: options, frames, outcomes.

`check()` answers SAT, UNSAT or UNKNOWN with a reason; it never returns a bool, so an unknown
can never be mistaken for a proof. Frames are `with` blocks whose pop sits in `finally`.

How a check is answered (measured with benchmarks/compare.py; the numbers are objcg_v4's uaf):

- every `Session.check()` asks a **fresh, non-incremental solver** with the constraints of all
  open frames. One incremental solver with push/pop keeps z3 from preprocessing the base
  constraints (solve-eqs, elim-uncnstr, bit-blasting with simplification): on the pure
  bit-vector encoding a query took 20-30 s under push/pop and 3-6 s fresh. The price is
  ~0.2 s per query of preprocessing again;
- before asking, the satisfying assignments found so far (**witnesses**) are tried: one that
  makes every constraint of every open frame true is a certificate of SAT, as good as the
  solver's (the vacuity and coverage queries are mostly answered this way). Only SAT is ever
  answered from a witness; UNSAT and UNKNOWN always come from a solver;
- `check(budget=N)` stops a query after N resource units too (prove/verify.py asks a property
  with many check sites whole under a budget, then thread by thread: NOTE(split-checks));
- `Session.incremental()` gives one incremental solver per session (the base constraints
  bit-blasted once) for many small variations of one question under assumption literals: the
  shortest-trace bisection, where it keeps what it learned between queries (2-3x faster than
  fresh solvers there);
- a `small` session asks every `check()` on that same incremental solver, under push/pop: for a
  model of a few dozen events, preprocessing is most of a fresh solver's query
  (NOTE(small-sessions) in prove/verify.py);
- an incremental solver that answered UNKNOWN (a timeout, a resource limit) is dropped, never
  asked again: z3's, stopped inside push/pop, was seen to answer SAT afterwards for an unsat
  formula.
"""

from __future__ import annotations

import dataclasses
import enum
import gc
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import z3

from .held import HeldBack


def z3_version() -> str:
    """The version of the z3 library in use (recorded in the proof ledger, part of cache keys)."""
    return str(z3.get_version_string())


# NOTE(memory-limit): z3 is held to MEMORY_SHARE of the machine's memory, shared by the processes
# that solve at once (`limit_memory`, called again by each --jobs worker with their count), so
# that an encoding too large for the machine ends as an `unknown` with its reason rather than
# as a process the kernel's OOM killer ends without a word. Past its `memory_max_size`, z3
# raises "out of memory": a query is then unknown (`_ask`), and an encoding it cannot build is
# OutOfMemory (prove/encode.py), which prove/verify.py turns into unknown verdicts. Why: the LKMM
# encoding of a design on the default scenario at closure level 0 took 9 GB and 245 s to build
# (objcg_v5, 354 events), and solving it grew the process past this machine's 24 GB. The
# process takes more than z3's count (Python's own objects for the terms): about 1.5x it,
# measured while building that encoding. What z3 took stays counted for the rest of the
# process (recover_memory): a run of several large models may find the later ones unknown for it.
MEMORY_SHARE = 0.5
OUT_OF_MEMORY = "the solver ran out of memory"   # how an unknown answer for want of memory starts


class OutOfMemory(Exception):
    """z3 ran out of the memory it is allowed (NOTE(memory-limit)) while building an encoding."""


def machine_memory_mb() -> int:
    """This machine's physical memory in MiB (0 when the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1 << 20)
    except (ValueError, OSError, AttributeError):
        return 0


def limit_memory(processes: int = 1) -> int:
    """Hold z3 to its share of the machine's memory among `processes` solving processes
    (NOTE(memory-limit)); the limit in MiB (0: none, the machine's memory being unknown)."""
    mb = int(machine_memory_mb() * MEMORY_SHARE / max(1, processes))
    set_memory_limit(mb)
    return mb


_memory_limit_mb = 0


def set_memory_limit(mb: int) -> None:
    """z3's memory limit, in MiB (0: none)."""
    global _memory_limit_mb
    z3.set_param("memory_max_size", max(0, mb))
    _memory_limit_mb = max(0, mb)


def memory_limit_mb() -> int:
    """z3's memory limit in MiB, as last set (0: none); asking z3 would need memory it may not have."""
    return _memory_limit_mb


def out_of_memory(exc: Exception) -> bool:
    """Whether a z3 exception is z3 giving up for want of memory (NOTE(memory-limit))."""
    return isinstance(exc, z3.Z3Exception) and "out of memory" in str(exc).lower()


def recover_memory() -> None:
    """After z3 ran out of memory: collect what the failed work held, and set the limit again.
    z3's out-of-memory state is sticky (every later allocation fails, even once all was freed)
    until its limit is set anew. What it freed stays counted against the limit (measured: 472
    MiB still counted with every object gone, NOTE(first-levels) in prove/verify.py), so
    work that needs more than the headroom left still runs out."""
    gc.collect()
    set_memory_limit(_memory_limit_mb)


@contextmanager
def memory_exhaustion_raised() -> Iterator[None]:
    """z3's "out of memory", wherever in the block z3 raises it (pushing a frame, adding a
    constraint, reading a model), as OutOfMemory (NOTE(memory-limit))."""
    try:
        yield
        return
    except z3.Z3Exception as exc:
        if not out_of_memory(exc):
            raise
    # raised outside the except clause, so that z3's exception, and the frames its traceback
    # holds with what they built, can go at once
    recover_memory()
    raise OutOfMemory(f"z3 ran out of memory (its limit: {memory_limit_mb()} MiB, NOTE(memory-limit))")


limit_memory()


def leave_sigint_alone() -> None:
    """Solvers created from now on in this process do not catch SIGINT (z3's `ctrl_c`): for a
    worker whose SIGINT is ignored, where z3 would otherwise install its own handler while it
    solves (runner/dask_pool.py)."""
    z3.set_param("ctrl_c", False)


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


WITNESSES_KEPT = 8    # the most recent satisfying assignments tried before a solver is asked


class Session:
    """Constraints in frames; each check() asks a new solver about all open frames (a `small`
    session: its one incremental solver)."""

    def __init__(self, options: SolverOptions, small: bool = False, bit_blast_only: bool = False,
                 held: HeldBack | None = None) -> None:
        self.options = options
        self.small = small   # NOTE(small-sessions): every check on the one incremental solver
        self.bit_blast_only = bit_blast_only   # NOTE(bit-blast-only)
        self.held = held   # NOTE(held-groups) in prove/held.py: added to the outer frame when violated
        self._frames: list[list[z3.BoolRef]] = [[]]
        self._witnesses: list[z3.ModelRef] = []
        self._incremental: z3.Solver | None = None
        self._selectors = 0
        self._kept: set[int] = set()      # ids of the terms added to the incremental solver

    def add(self, constraints: list[z3.BoolRef] | z3.BoolRef) -> None:
        items = list(constraints) if isinstance(constraints, (list, tuple)) else [constraints]
        self._frames[-1].extend(items)
        if len(self._frames) == 1 and self._incremental is not None:
            self._incremental.add(items)

    @contextmanager
    def frame(self) -> Iterator[None]:
        self._frames.append([])
        try:
            yield
        finally:
            self._frames.pop()

    def check(self, budget: int = 0) -> CheckResult:
        """SAT, UNSAT or UNKNOWN for the constraints of every open frame and every held-back
        group (NOTE(held-groups) in prove/held.py). With a `budget` (z3 resource units,
        deterministic), the query also stops there, as UNKNOWN, if it has not stopped earlier at
        the options' own limits."""
        while True:
            answer = self._check(budget)
            if not self._strengthened(answer):
                return answer

    def _strengthened(self, answer: CheckResult) -> bool:
        """Whether a SAT answer's assignment violates a held-back group, now added to the outer
        frame for good (NOTE(held-groups))."""
        if self.held is None or answer.model is None:
            return False
        added = self.held.violated(answer.model)
        if not added:
            return False
        self._frames[0].extend(added)
        if self._incremental is not None:
            self._incremental.add(added)
        return True

    def _check(self, budget: int) -> CheckResult:
        constraints = [c for frame in self._frames for c in frame]
        model = self._witness(constraints)
        if model is not None:
            return CheckResult(Outcome.SAT, "", model)
        options = self.options
        if budget > 0 and not 0 < options.rlimit <= budget:
            options = dataclasses.replace(options, rlimit=budget)
        if self.small:
            return self._remember(self._check_incrementally(constraints[len(self._frames[0]):], options))
        solver = _bit_blasting_solver() if self.bit_blast_only else z3.Solver()
        solver.set(**_params(options))
        ref = solver.ctx.ref()
        for c in constraints:   # z3py's add() checks each term first: 10x slower than the C API
            z3.Z3_solver_assert(ref, solver.solver, c.as_ast())
        return self._remember(_ask(solver, options, []))

    def _check_incrementally(self, rest: list[z3.BoolRef], options: SolverOptions) -> CheckResult:
        """check() on the session's incremental solver: the open frames' constraints pushed on
        top of the outer frame's (NOTE(small-sessions))."""
        solver = self._solver()
        solver.push()
        try:
            if options is not self.options:
                solver.set(**_params(options))
            ref = solver.ctx.ref()
            for c in rest:
                z3.Z3_solver_assert(ref, solver.solver, c.as_ast())
            answer = _ask(solver, options, [])
        finally:
            solver.pop()
            if options is not self.options:   # the budget was this query's only
                solver.set(**_params(self.options), rlimit=self.options.rlimit)
        if answer.outcome == Outcome.UNKNOWN:
            self._drop_incremental()
        return answer

    def _drop_incremental(self) -> None:
        """Forget the incremental solver: one that stopped at a limit is never asked again. z3's
        incremental solver, stopped by a resource limit inside push/pop, was seen to answer SAT
        afterwards for a formula that is unsat (tests/prove/test_small_sessions.py); the next
        query builds a new one."""
        self._incremental = None
        self._kept = set()

    def _solver(self) -> z3.Solver:
        """The session's incremental solver, holding the outer frame's constraints."""
        if self._incremental is None:
            self._incremental = z3.SolverFor("QF_BV")
            self._incremental.set(**_params(self.options))
            self._incremental.add(self._frames[0])
        return self._incremental

    @contextmanager
    def incremental(self) -> Iterator[Incremental]:
        """An incremental solver holding the constraints of the open frames (the outer one for
        good, the others under a selector literal), for checks under assumptions."""
        solver = self._solver()
        selector: list[z3.BoolRef] = []
        rest = [c for frame in self._frames[1:] for c in frame]
        if rest:
            self._selectors += 1
            literal = z3.Bool(f"frame@{self._selectors}")
            solver.add(z3.Implies(literal, z3.And(rest)))
            selector = [literal]
        yield Incremental(self, solver, selector)

    def _witness(self, constraints: list[z3.BoolRef]) -> z3.ModelRef | None:
        """A satisfying assignment found earlier under which every constraint is true."""
        if not self._witnesses:
            return None
        goal = z3.And(constraints)
        for model in reversed(self._witnesses):
            if z3.is_true(model.eval(goal, model_completion=True)):
                return model
        return None

    def _remember(self, result: CheckResult) -> CheckResult:
        if result.model is not None:
            self._witnesses = (self._witnesses + [result.model])[-WITNESSES_KEPT:]
        return result


class Incremental:
    """Checks under assumptions on a session's incremental solver; constraints added here are
    kept there for good (they must not change what the session's own checks mean: definitions
    of fresh names only, like Encoding.step_counter)."""

    def __init__(self, session: Session, solver: z3.Solver, selector: list[z3.BoolRef]) -> None:
        self._session = session
        self._solver = solver
        self._selector = selector

    def add(self, constraints: list[z3.BoolRef] | z3.BoolRef) -> None:
        """Add constraints, each once per session (z3 terms are hash-consed: a term built
        again has the same id)."""
        items = constraints if isinstance(constraints, (list, tuple)) else [constraints]
        known = self._session._kept
        fresh = [c for c in items if c.get_id() not in known]
        known.update(c.get_id() for c in fresh)
        self._solver.add(fresh)

    def check(self, assumptions: list[z3.BoolRef]) -> CheckResult:
        while True:
            answer = _ask(self._solver, self._session.options, self._selector + assumptions)
            if answer.outcome == Outcome.UNKNOWN:
                self._session._drop_incremental()   # the caller stops asking this one
            # a held-back group the assignment violates goes to this solver too (NOTE(held-groups))
            if not self._session._strengthened(answer):
                return self._session._remember(answer)


# NOTE(bit-blast-only): z3's default for a QF_BV query runs a long preprocessing pipeline
# (propagate-values, solve-eqs, elim-uncnstr, bv-size-reduction, max-bv-sharing) before it
# bit-blasts. On the LKMM encoding of a design, a hundred thousand constraints of mostly Boolean
# structure, that pipeline is most of the time: objcg_prepatch's leak at closure level 0
# (`-D MIGRATIONS=1 -D ALLOCS=1 -D KALLOCS=0 -D EXIT_ALLOCS=0 -D LATE_FREES=0`) took 87 s with
# it, 26 s simplifying and bit-blasting only (the same unsat answer). prove/verify.py asks for
# this solver for the encodings asked at closure levels (NOTE(closure-levels)); every other
# query keeps z3's default, whose search the recorded traces depend on.
def _bit_blasting_solver() -> z3.Solver:
    return z3.Then("simplify", "bit-blast", "sat").solver()


def _params(options: SolverOptions) -> dict[str, object]:
    params: dict[str, object] = {"random_seed": options.seed}
    if options.timeout_s > 0:
        # z3's limit is unsigned 32-bit milliseconds and wraps beyond: options.parse_timeout
        # refuses larger values, and this clamp keeps a library caller from wrapping either
        params["timeout"] = min((1 << 32) - 1, max(1, int(options.timeout_s * 1000)))
    if options.rlimit > 0:
        params["rlimit"] = options.rlimit
    return params


def _ask(solver: z3.Solver, options: SolverOptions, assumptions: list[z3.BoolRef]) -> CheckResult:
    started = time.perf_counter()
    try:
        answer = solver.check(*assumptions)
        model = solver.model() if answer == z3.sat else None
    except z3.Z3Exception as exc:
        # z3 gives up a query it has no memory for by raising, where a timeout returns unknown;
        # both are limits of this run, never a verdict (found by fuzzing, under a 2 GiB limit)
        if not out_of_memory(exc):
            raise
        recover_memory()
        return CheckResult(Outcome.UNKNOWN, f"{OUT_OF_MEMORY} (its limit: {memory_limit_mb()} MiB, NOTE(memory-limit))")
    if answer == z3.sat:
        return CheckResult(Outcome.SAT, "", model)
    if answer == z3.unsat:
        return CheckResult(Outcome.UNSAT)
    reason = solver.reason_unknown() or "the solver gave no reason"
    if "interrupted from keyboard" in reason:
        # z3 catches SIGINT while it solves and gives up on the query; Ctrl-C ends the whole run
        # (cli.main), never an unknown verdict
        raise KeyboardInterrupt
    elapsed = time.perf_counter() - started
    if options.rlimit > 0 and ("resource" in reason or ("canceled" in reason and elapsed < 0.9 * options.timeout_s)):
        reason = f"solver resource limit (rlimit {options.rlimit}) exhausted after {elapsed:.1f}s ({reason})"
    elif "timeout" in reason or "canceled" in reason:
        reason = f"solver timeout after {options.timeout_s:g}s ({reason})"
    return CheckResult(Outcome.UNKNOWN, reason)
