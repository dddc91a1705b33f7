"""Running a mutant and judging it, for `objcg-prove mutate` (study/mutate.py).

Input: a `Mutant` (mutants.py), the original's property statuses and, for survivors, the
original's outcomes on the reference interpreter. Output: a `MutantResult` (killed, survived or
invalid, the properties whose verdict changed, and for a survivor whether it ends as the
original, NOTE(equivalent)), and the `Summary` of a run with its score.
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Iterator

from ..lang import ir
from ..lang import syntax as s
from ..lang.diagnostics import SourceCache, UserError
from ..lang.resolve import resolve
from ..lang.values import render, render_refcount
from ..oracles.interpret import Exploration, explore
from ..prove.unroll import unroll
from ..prove.verdict import ModelResult
from ..prove.verify import VerifyOptions, verify_program
from ..runner.batch import lkmm_check
from .mutants import Mutant

KILLED, SURVIVED, INVALID = "killed", "survived", "invalid"


# ---- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    property: str
    original: str          # status in the original ("absent" if it has no such property)
    mutant: str


@dataclass(frozen=True)
class MutantResult:
    mutant: Mutant
    outcome: str           # killed / survived / invalid
    changes: tuple[Change, ...]
    error: str             # for invalid: the first diagnostic
    time_s: float
    equivalent: bool | None = None   # for survived: ends as the original (NOTE(equivalent))
    evidence: str = ""               # for survived: the interpreter's comparison, in words


@dataclass(frozen=True)
class Summary:
    mutants: int
    killed: int
    survived: int
    invalid: int
    time_s: float
    equivalent: int = 0    # survivors that end as the original (NOTE(equivalent))
    classified: bool = True   # survivors were compared with the original (not under the LKMM)

    @property
    def score(self) -> float | None:
        valid = self.killed + self.survived
        return 100.0 * self.killed / valid if valid else None

    @property
    def score_non_equivalent(self) -> float | None:
        """Killed among the mutants that do not end as the original."""
        valid = self.killed + self.survived - self.equivalent
        return 100.0 * self.killed / valid if valid and self.classified else None

    def text(self) -> str:
        score = "n/a" if self.score is None else f"{self.score:.1f}%"
        line = (f"{self.mutants} mutants, {self.killed} killed, {self.survived} survived, "
                f"{self.invalid} invalid: score {score}")
        if self.survived and not self.classified:
            line += ("; survivors are not compared with the original: the reference interpreter runs sequential "
                     "consistency, the verdicts are the LKMM's")
        elif self.survived:
            rest = self.score_non_equivalent
            line += (f"; {self.equivalent} of the {self.survived} survivors end exactly as the original: "
                     f"{'n/a' if rest is None else f'{rest:.1f}%'} of the other mutants killed")
        return line


def summarize(results: list[MutantResult], time_s: float, classified: bool = True) -> Summary:
    count = {k: sum(1 for r in results if r.outcome == k) for k in (KILLED, SURVIVED, INVALID)}
    equivalent = sum(1 for r in results if r.outcome == SURVIVED and r.equivalent)
    return Summary(len(results), count[KILLED], count[SURVIVED], count[INVALID], time_s, equivalent, classified)


# ---- verifying ------------------------------------------------------------------------------
def verify_module(module: s.Module, sources: SourceCache, options: VerifyOptions) -> ModelResult:
    """resolve -> unroll -> verify, as verify_path does after parsing (UserError if invalid)."""
    start = time.perf_counter()
    program = resolve(module, dict(options.defines), options.bound)
    return verify_program(unroll(program), sources, options, start, lkmm_check)


def statuses(result: ModelResult) -> dict[str, str]:
    """Each property's status. (Not the length of a violation's shortest trace: a mutation moves
    it by itself, a non-atomic split adds a step and a dropped statement removes one, so a
    change of length does not show that a property told the mutant apart.)"""
    return {p.name: p.status for p in result.properties}


def judge(original: dict[str, str], mutant: dict[str, str]) -> tuple[Change, ...]:
    """The properties whose status differs (a property missing on one side is 'absent')."""
    names = list(original) + [n for n in mutant if n not in original]
    return tuple(Change(n, original.get(n, "absent"), mutant.get(n, "absent")) for n in names
                 if original.get(n, "absent") != mutant.get(n, "absent"))


def run_mutant(mutant: Mutant, original: dict[str, str], sources: SourceCache, options: VerifyOptions,
               baseline: "Outcomes | None" = None) -> MutantResult:
    """Verify one mutant; a survivor is compared with `baseline` (the original's outcomes), if given."""
    start = time.perf_counter()
    try:
        result = verify_module(mutant.module, sources, options)
    except UserError as exc:
        d = exc.diagnostics[0] if exc.diagnostics else None
        error = f"{d.span}: {d.message}" if d is not None else str(exc)
        return MutantResult(mutant, INVALID, (), error, time.perf_counter() - start)
    changes = judge(original, statuses(result))
    if changes or baseline is None:
        return MutantResult(mutant, KILLED if changes else SURVIVED, changes, "", time.perf_counter() - start)
    equivalent, evidence = compare_outcomes(baseline, resolve(mutant.module, dict(options.defines), options.bound))
    return MutantResult(mutant, SURVIVED, (), "", time.perf_counter() - start, equivalent, evidence)


# NOTE(mutant-jobs): `mutate --jobs N` verifies the mutants in N worker processes (spawned, as
# the prover's --jobs workers are: runner/workers.py). Each worker is given the original's verdicts,
# sources, options and outcomes once, when it starts; each task is one mutant. Results come back
# in the mutants' order, so the report is the one a serial run prints; a worker's failure ends
# the command as an internal error (exit 4, cli/dispatch.py), as any tool failure does.
_worker_context: tuple[dict[str, str], SourceCache, VerifyOptions, "Outcomes | None"] | None = None


def _start_worker(original: dict[str, str], sources: SourceCache, options: VerifyOptions,
                  baseline: "Outcomes | None") -> None:
    global _worker_context
    _worker_context = (original, sources, options, baseline)


def _run_in_worker(mutant: Mutant) -> MutantResult:
    assert _worker_context is not None
    return run_mutant(mutant, *_worker_context)


def run_mutants(mutants: list[Mutant], original: dict[str, str], sources: SourceCache, options: VerifyOptions,
                baseline: "Outcomes | None" = None, jobs: int = 1) -> Iterator[MutantResult]:
    """Each mutant's result, in the mutants' order; with `jobs` > 1 in worker processes (NOTE(mutant-jobs))."""
    if jobs <= 1 or len(mutants) <= 1:
        for mutant in mutants:
            yield run_mutant(mutant, original, sources, options, baseline)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(jobs, len(mutants)), mp_context=context, initializer=_start_worker,
                             initargs=(original, sources, options, baseline)) as pool:
        futures = [pool.submit(_run_in_worker, m) for m in mutants]
        try:
            for future in futures:
                yield future.result()
        finally:
            for future in futures:
                future.cancel()


@dataclass(frozen=True)
class Outcomes:
    """What a model can end in, by the reference interpreter (every execution, unbounded)."""

    program: ir.Program
    exploration: Exploration


def outcomes(program: ir.Program) -> Outcomes:
    return Outcomes(program, explore(program, keep_finals=True))


def compare_outcomes(original: Outcomes, program: ir.Program) -> tuple[bool | None, str]:
    """NOTE(equivalent): a surviving mutant *ends as the original* when the reference
    interpreter finds that it ends in exactly the original's set of final states (the memory,
    refcounts included, and each thread's status where no thread can move) and violates exactly
    the original's properties. Both explorations are complete (every execution, no bound), so
    this is a fact about the model, not a sample: no property of the final state (a leak, a
    value left behind) can tell the two apart. It is not a proof that each execution ends as
    before: on a design that is already broken, a mutant may end differently in some runs and
    still reach only final states the original reaches by other runs (its defect is masked by the
    design's own). A survivor that ends differently shows a difference no property catches: a
    missing property, or one nobody cares about; the evidence names the locations whose final
    values differ."""
    mine = explore(program, keep_finals=True)
    theirs = original.exploration
    if not (mine.complete and theirs.complete):
        return None, "the reference interpreter hit its state limit: equivalence not decided"
    if set(mine.violations) != set(theirs.violations):
        only = sorted(set(mine.violations) ^ set(theirs.violations))
        return False, "the reference interpreter disagrees on " + ", ".join(only) + " (unbounded: the bound hid it)"
    if mine.finals == theirs.finals:
        return True, (f"ends as the original: the same {len(mine.finals)} final states and violations "
                      f"(reference interpreter, every execution)")
    layout = original.program.layout
    differ = []
    for i, loc in enumerate(layout.locations):
        a = {m[i] for m, _ in theirs.finals}
        b = {m[i] for m, _ in mine.finals}
        if a != b:
            def show(vals: set[int]) -> str:
                if loc.refcount_of is not None:
                    return "{" + ", ".join(render_refcount(v, layout) for v in sorted(vals)) + "}"
                return "{" + ", ".join(render(v, loc.type.pointer, layout) for v in sorted(vals)) + "}"
            differ.append(f"{loc.name} ends as {show(a)} in the original, {show(b)} in the mutant")
    if not differ:
        differ.append("the same final memories, but threads end in other states (finished, blocked, stopped)")
    return False, "ends differently: " + "; ".join(differ[:3])

