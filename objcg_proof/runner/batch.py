"""Verify many models: the one entry point that `prove`, `check` and `compare` share.

Input: model paths, `VerifyOptions` and a number of jobs. Output: one `ModelOutcome` per path, in
the order given: the verdicts (`verdict.ModelResult`), or the diagnostics of bad input, plus any
counterexample that failed to replay on the reference interpreter (NOTE(replay) in cli/dispatch.py) and
any obligation a worker process failed on; those properties are `failed`, and the verdicts of
the others still stand (`ModelOutcome.standing`). Nothing here prints verdicts; callers render
the outcomes. The only thing written is the progress line (runner/progress.py).

A run has three phases:
1. every model is compiled here (parse, resolve, unroll: cheap), so bad input is reported, as in
   a serial run, before any solving starts;
2. the obligations, one per (model, property), are checked: one after the other in this process
   (`jobs` 1), by `jobs` worker processes (NOTE(obligations)), or as tasks on a Dask cluster
   (`scheduler`: runner/dask_pool.py, NOTE(dask)); a worker that dies, fails or stops answering
   (NOTE(workers) in runner/workers.py) gives an internal error for its obligation, never a verdict;
3. each model's `ModelResult` is put together from its properties' results in report order, and
   its counterexamples are replayed here.
"""

from __future__ import annotations

import dataclasses
import re
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterator, TextIO

from ..lang.diagnostics import Diagnostic, SourceCache, SourceFile, UserError, working_on
from ..prove.events import EventProgram
from ..prove.verdict import VIOLATED, ModelResult, PropertyResult, Trace, WeakExecution
from ..prove.verify import ModelChecker, VerifyOptions, compile_model, memory_model, properties, selected
from .progress import Progress

if TYPE_CHECKING:
    from .dask_pool import DaskPool


@dataclass
class ModelOutcome:
    """What verifying one model gave: its verdicts, or the diagnostics of bad input, plus any failure."""

    path: str
    options: VerifyOptions
    sources: SourceCache
    result: ModelResult | None = None                 # None for bad input or a failed worker
    diagnostics: list[Diagnostic] = field(default_factory=list)
    replay_failures: list[str] = field(default_factory=list)
    worker_errors: list[str] = field(default_factory=list)   # internal errors, naming the property
    failed: list[str] = field(default_factory=list)   # properties with a replay failure or worker error
    partial: ModelResult | None = None   # with worker errors: the verdicts of the other properties
    every: tuple[str, ...] = ()   # the compiled model's property names, --property or not, in report order

    @property
    def bad_input(self) -> bool:
        return self.result is None and not self.worker_errors

    def standing(self) -> ModelResult | None:
        """The verdicts that stand: every property's but those in `failed`, each of which is an
        internal error (so one property's failure never hides another's verdict)."""
        base = self.result or self.partial
        if base is None or not self.failed:
            return base
        return dataclasses.replace(base, properties=tuple(p for p in base.properties if p.name not in self.failed))


@dataclass(frozen=True)
class Obligation:
    """One property of one model, at the options' bound: the unit of work of a worker."""
    path: str
    options: VerifyOptions
    index: int          # the property's place in verify.properties() of the compiled model
    name: str
    files: tuple[SourceFile, ...] = ()   # the model's files as compiled here; () reads the disk (NOTE(shipped-sources))

    def label(self) -> str:
        return f"{self.path} {self.name}"


@dataclass(frozen=True)
class Answer:
    """What checking an obligation gave: the verdict, the model's sizes, and the seconds of work
    it took (compiling and encoding included, when the worker had to)."""
    result: PropertyResult
    stats: dict[str, int]
    time_s: float


@dataclass
class _Compiled:
    """A model compiled in the parent, with the obligations of its selected properties."""

    outcome: ModelOutcome
    prog: EventProgram
    obligations: list[Obligation]
    compile_s: float


def verify_models(paths: list[str], options: VerifyOptions, jobs: int = 1,
                  progress: TextIO | None = None, scheduler: DaskPool | None = None,
                  log: bool = False) -> list[ModelOutcome]:
    """Verify each model and replay its counterexamples; with `jobs` > 1 the obligations run in
    that many worker processes, with a `scheduler` on its Dask cluster (runner/dask_pool.py).
    The outcomes are the same either way (NOTE(obligations)).
    `progress`: where the progress line goes (only if it is a terminal; with `log`, a line per
    property, whatever it is: runner/progress.py)."""
    return run_obligations(paths, options, jobs, progress, check_obligation, scheduler, log)


def run_obligations(paths: list[str], options: VerifyOptions, jobs: int, progress: TextIO | None,
                    check: Callable[[Obligation], Answer], scheduler: DaskPool | None = None,
                    log: bool = False) -> list[ModelOutcome]:
    """verify_models, with the function a worker runs on each obligation given (a test can give
    one that fails). `check` must be importable by name: workers are started by 'spawn'."""
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, not {jobs}")
    outcomes, compiled = [], []
    for path in paths:
        outcome, one = _compile(path, options)
        outcomes.append(outcome)
        if one is not None:
            compiled.append(one)
    total = sum(len(c.obligations) for c in compiled)
    with Progress(progress, total, log=log) as shown:
        if scheduler is not None:
            from .dask_pool import _check_on_dask   # only here: a run without it never loads Dask
            _check_on_dask(compiled, scheduler, shown, check)
        elif min(jobs, total) > 1:
            from .workers import check_in_workers   # only here: a serial run never loads multiprocessing
            check_in_workers(compiled, jobs, shown, check)
        else:
            _check_here(compiled, shown)
    for c in compiled:
        verdicts = c.outcome.result or c.outcome.partial
        if verdicts is not None:
            with working_on(c.outcome.path):
                failures, verdicts = replay_counterexamples(c.outcome.path, options, verdicts, c.outcome.sources)
            if c.outcome.result is not None:
                c.outcome.result = verdicts
            else:
                c.outcome.partial = verdicts
            c.outcome.replay_failures = list(failures.values())
            c.outcome.failed += list(failures)
    return outcomes


def _compile(path: str, options: VerifyOptions) -> tuple[ModelOutcome, _Compiled | None]:
    sources = SourceCache()
    outcome = ModelOutcome(path, options, sources)
    start = time.perf_counter()
    try:
        with working_on(path):
            prog = compile_model(path, sources, options)
    except UserError as exc:
        outcome.diagnostics = list(exc.diagnostics)
        return outcome, None
    outcome.every = tuple(p.name for p in properties(prog))
    files = sources.files()
    obligations = [Obligation(path, options, i, p.name, files) for i, p in enumerate(properties(prog)) if selected(p, options)]
    return outcome, _Compiled(outcome, prog, obligations, time.perf_counter() - start)


def _check_here(compiled: list[_Compiled], shown: Progress) -> None:
    """The serial run: one ModelChecker per model, its properties in report order."""
    done = 0
    for c in compiled:
        with working_on(c.outcome.path):
            start = time.perf_counter()
            checker = ModelChecker(c.prog, c.outcome.sources, c.outcome.options, lkmm_check)
            every = checker.properties()
            results = []
            for ob in c.obligations:
                shown.show(done, ob.label())
                results.append(checker.check(every[ob.index]))
                done += 1
            c.outcome.result = checker.result(results, c.compile_s + time.perf_counter() - start)
            checker.release()   # before the next model's encoding is built (NOTE(memory-limit) in prove/solver.py)


# NOTE(obligations): with jobs > 1 (runner/workers.py, or a Dask scheduler, runner/dask_pool.py) each (model,
# property) pair is an obligation that any worker may check, in any order; the results are put
# back in report order, so the report lists the
# same models and properties in the same order as a serial run. The statuses are the same too,
# and so are the trace lengths (each trace is a shortest one) and the coverage words. What a
# solver answers, among equally good answers, depends on what was asked before in that process:
# which of several shortest traces is shown (so its steps may differ; every one is replayed,
# NOTE(replay) in cli/dispatch.py), which loops a `bounded` verdict names when executions can go past
# several, and the length of a trace whose minimisation the solver cut short (unknown). A serial
# run depends on its history the same way.
# A worker keeps the ModelChecker of the model it checked last (`_last_checker`), and is given
# the properties of one model for as long as there are any (`_next_obligation`), so a model is
# compiled and encoded by few workers and its coverage query is shared, as in a serial run.
# That cache lives only in worker processes; a --jobs worker lives for one run, a Dask worker
# for many (runner/dask_pool.py), so the cache is keyed by the model's texts as well: an edited
# model is compiled again. A worker compiles the texts the parent compiled (`Obligation.files`,
# NOTE(shipped-sources) in lang/diagnostics.py), not what its disk holds now.

_last_checker: tuple[tuple[str, VerifyOptions, tuple[SourceFile, ...]], ModelChecker] | None = None


def check_obligation(ob: Obligation) -> Answer:
    """Run in a worker process: check one obligation (one at a time: the cache above is the
    process's, and so is z3's context; runner/dask_pool.py serialises its tasks)."""
    global _last_checker
    start = time.perf_counter()
    key = (ob.path, ob.options, ob.files)
    if _last_checker is None or _last_checker[0] != key:
        if _last_checker is not None:
            _last_checker[1].release()   # let the previous model's solver go first (NOTE(memory-limit))
        _last_checker = None
        sources = SourceCache.shipped(ob.files) if ob.files else SourceCache()
        _last_checker = (key, ModelChecker(compile_model(ob.path, sources, ob.options), sources, ob.options,
                                           lkmm_check))
    checker = _last_checker[1]
    every = checker.properties()
    if ob.index >= len(every) or every[ob.index].name != ob.name:
        raise RuntimeError(f"{ob.path} changed while it was being verified: property {ob.name} is not where it was")
    result = checker.check(every[ob.index])
    return Answer(result, checker.stats(), time.perf_counter() - start)


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """SIGINT ignored for the duration (in the main thread only: elsewhere it cannot be set)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        # a Ctrl-C that came meanwhile was ignored: the parent may miss it, but never a worker


def _assemble(compiled: list[_Compiled], order: list[tuple[_Compiled, Obligation]],
              answers: dict[int, Answer | str]) -> None:
    by_model: dict[int, list[tuple[Answer | str, str]]] = {id(c): [] for c in compiled}
    for i, (c, ob) in enumerate(order):
        by_model[id(c)].append((answers[i], ob.name))
    for c in compiled:
        got = by_model[id(c)]
        done = [a for a, _ in got if isinstance(a, Answer)]
        errors = [(a, name) for a, name in got if isinstance(a, str)]
        if errors and not done:
            stats: dict[str, int] = {}
        else:
            stats = done[0].stats if done else ModelChecker(c.prog, c.outcome.sources, c.outcome.options).stats()
        time_s = c.compile_s + sum(a.time_s for a in done)
        result = ModelResult(c.prog.path, c.prog.bound, (), tuple(a.result for a in done), time_s, stats,
                             memory_model(c.prog, c.outcome.options))
        if errors:
            # no result for the model, but the other properties' verdicts still stand
            c.outcome.worker_errors = [a for a, _ in errors]
            c.outcome.failed = [name for _, name in errors]
            c.outcome.partial = result if done else None
            continue
        c.outcome.result = result


MAX_SHOWN_VALUES = 256   # at most this many of a counterexample's numbers are tried by replay


def replay_counterexamples(path: str, options: VerifyOptions, result: ModelResult,
                           sources: SourceCache | None = None) -> tuple[dict[str, str], ModelResult]:
    """Replay every counterexample of `result` on the reference interpreter (oracles/interpret.py).
    Returns the properties whose counterexample does not replay, each with the internal error,
    and `result` with each counterexample the interpreter gave up on marked (`Trace.unreplayed`,
    NOTE(replay) in cli/dispatch.py): still a violation, shown as not confirmed by replay.
    `sources`: the files the model was compiled from; the replay compiles the same texts
    (NOTE(shipped-sources)), so a model edited while it is verified is replayed as it was
    verified. Without them the files are read again."""
    violated = [p for p in result.properties if p.status == VIOLATED and p.trace is not None]
    if not violated:
        return {}, result
    if result.memory_model != "sc":
        failures, result = _check_weak_counterexamples(path, result)
        # a sequentially consistent one is an interleaving too: the interpreter replays it as well
        # (NOTE(sequential-level) in prove/lkmm.py)
        sequential = [p for p in result.properties if p.status == VIOLATED and p.trace is not None and p.trace.sequential]
        if not sequential:
            return failures, result
        more, unreplayed = _replay_on_interpreter(path, options, sequential, sources)
        failures.update(more)
        return failures, dataclasses.replace(result, properties=tuple(
            dataclasses.replace(p, trace=dataclasses.replace(p.trace, unreplayed=unreplayed.get(p.name, "")))
            if p.name in {q.name for q in sequential} and p.trace is not None else p for p in result.properties))
    failures, unreplayed = _replay_on_interpreter(path, options, violated, sources)
    if unreplayed:
        result = dataclasses.replace(result, properties=tuple(
            dataclasses.replace(p, trace=dataclasses.replace(p.trace, unreplayed=unreplayed[p.name]))
            if p.name in unreplayed and p.trace is not None else p for p in result.properties))
    return failures, result


def _replay_on_interpreter(path: str, options: VerifyOptions, violated: list[PropertyResult],
                           sources: SourceCache | None) -> tuple[dict[str, str], dict[str, str]]:
    """Each counterexample replayed on the reference interpreter: the ones that do not replay,
    with the internal error, and the ones it gave up on, with why."""
    from ..oracles.interpret import StateLimit, replay   # only here: a run with nothing to replay never loads it
    from ..lang.parser import load_model
    from ..lang.resolve import resolve

    files = sources.files() if sources is not None else ()
    program = resolve(load_model(path, SourceCache.shipped(files) if files else SourceCache()),
                      dict(options.defines), options.bound)
    failures, unreplayed = {}, {}
    for p in violated:
        assert p.trace is not None
        schedule = [(s.thread, s.file, s.line) for s in p.trace.steps]
        try:
            ok, why = replay(program, schedule, p.name, p.kind, _shown_values(p.trace, program.layout.width))
        except StateLimit as exc:
            d = exc.diagnostics[0]
            unreplayed[p.name] = f"{d.message} ({d.span})"
            continue
        if not ok:
            failures[p.name] = f"the counterexample for {p.name} in {path} does not replay: {why}"
    return failures, unreplayed


def lkmm_check(execution: "WeakExecution") -> str:
    """The independent LKMM evaluator's judgement of a counterexample's execution graph ("" when
    it allows it): what ModelChecker keeps a bounded level's counterexample by (NOTE(closure-levels))."""
    from .weak_replay import check_weak_execution   # only here: loads the evaluator
    return check_weak_execution(execution)


def _check_weak_counterexamples(path: str, result: ModelResult) -> tuple[dict[str, str], ModelResult]:
    """NOTE(weak-replay): an LKMM counterexample is not replayed on the reference interpreter,
    which runs sequential consistency; its execution graph goes to the independent LKMM
    evaluator instead (runner/weak_replay.py). A graph the evaluator does not allow is a tool
    bug (an internal error, as a failed replay is); one it allows is shown, marked as checked
    so and no further."""
    from .weak_replay import check_weak_execution   # only here: loads the evaluator

    failures = {}
    why = ("an LKMM execution: the reference interpreter runs sequential consistency; the independent LKMM "
           "evaluator allows its execution graph")
    for p in result.properties:
        if p.status == VIOLATED and p.trace is not None:
            wrong = check_weak_execution(p.trace.execution) if p.trace.execution is not None else \
                "the counterexample has no execution graph"
            if wrong:
                failures[p.name] = (f"the LKMM counterexample for {p.name} in {path} is not an execution the "
                                    f"independent evaluator allows: {wrong}")
    return failures, dataclasses.replace(result, properties=tuple(
        dataclasses.replace(p, trace=dataclasses.replace(p.trace, unreplayed=why)) if p.trace is not None else p
        for p in result.properties))


def _shown_values(trace: Trace, width: int) -> tuple[int, ...]:
    """The values replay tries for a nondet() with too many values to try them all
    (NOTE(choice-limits) in oracles/interpret.py): the numbers the counterexample shows (the values
    written and read, the indexes named), and 0, 1 and the largest word (an index out of bounds
    of every array). Any value is sound there: a violation replay finds with it is one."""
    shown: set[int] = set()
    for step in trace.steps:
        for change in step.changes:
            shown.update(int(n, 0) for n in re.findall(r"\b(?:0x[0-9a-fA-F]+|[0-9]+)\b", change))
    always = {0, 1, (1 << width) - 1}
    return tuple(sorted(always | set(sorted(v for v in shown - always if v < 1 << width)[:MAX_SHOWN_VALUES])))
