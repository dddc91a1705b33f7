"""Verify many models: the one entry point that `prove`, `check` and `compare` share.

Input: model paths, `VerifyOptions` and a number of jobs. Output: one `ModelOutcome` per path, in
the order given: the verdicts (`verdict.ModelResult`), or the diagnostics of bad input, plus any
counterexample that failed to replay on the reference interpreter (NOTE(replay) in cli.py) and
any obligation a worker process failed on; those properties are `failed`, and the verdicts of
the others still stand (`ModelOutcome.standing`). Nothing here prints verdicts; callers render
the outcomes. The only thing written is the progress line (progress.py).

A run has three phases:
1. every model is compiled here (parse, resolve, unroll: cheap), so bad input is reported, as in
   a serial run, before any solving starts;
2. the obligations, one per (model, property), are checked: one after the other in this process
   (`jobs` 1), or by `jobs` worker processes (NOTE(obligations));
3. each model's `ModelResult` is put together from its properties' results in report order, and
   its counterexamples are replayed here.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Callable, TextIO

from .diagnostics import Diagnostic, SourceCache, UserError
from .events import EventProgram
from .progress import Progress
from .verdict import VIOLATED, ModelResult, PropertyResult
from .verify import ModelChecker, VerifyOptions, compile_model, properties, selected


@dataclass
class ModelOutcome:
    path: str
    options: VerifyOptions
    sources: SourceCache
    result: ModelResult | None = None                 # None for bad input or a failed worker
    diagnostics: list[Diagnostic] = field(default_factory=list)
    replay_failures: list[str] = field(default_factory=list)
    worker_errors: list[str] = field(default_factory=list)   # internal errors, naming the property
    failed: list[str] = field(default_factory=list)   # properties with a replay failure or worker error
    partial: ModelResult | None = None   # with worker errors: the verdicts of the other properties

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
    outcome: ModelOutcome
    prog: EventProgram
    obligations: list[Obligation]
    compile_s: float


def verify_models(paths: list[str], options: VerifyOptions, jobs: int = 1,
                  progress: TextIO | None = None) -> list[ModelOutcome]:
    """Verify each model and replay its counterexamples; with `jobs` > 1 the obligations run in
    that many worker processes. The outcomes are the same whatever `jobs` is (NOTE(obligations)).
    `progress`: where the progress line goes (only if it is a terminal)."""
    return run_obligations(paths, options, jobs, progress, check_obligation)


def run_obligations(paths: list[str], options: VerifyOptions, jobs: int, progress: TextIO | None,
                    check: Callable[[Obligation], Answer]) -> list[ModelOutcome]:
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
    with Progress(progress, total) as shown:
        if min(jobs, total) > 1:
            _check_in_workers(compiled, jobs, shown, check)
        else:
            _check_here(compiled, shown)
    for c in compiled:
        verdicts = c.outcome.result or c.outcome.partial
        if verdicts is not None:
            failures = replay_counterexamples(c.outcome.path, options, verdicts)
            c.outcome.replay_failures = list(failures.values())
            c.outcome.failed += list(failures)
    return outcomes


def _compile(path: str, options: VerifyOptions) -> tuple[ModelOutcome, _Compiled | None]:
    sources = SourceCache()
    outcome = ModelOutcome(path, options, sources)
    start = time.perf_counter()
    try:
        prog = compile_model(path, sources, options)
    except UserError as exc:
        outcome.diagnostics = list(exc.diagnostics)
        return outcome, None
    obligations = [Obligation(path, options, i, p.name) for i, p in enumerate(properties(prog)) if selected(p, options)]
    return outcome, _Compiled(outcome, prog, obligations, time.perf_counter() - start)


def _check_here(compiled: list[_Compiled], shown: Progress) -> None:
    """The serial run: one ModelChecker per model, its properties in report order."""
    done = 0
    for c in compiled:
        start = time.perf_counter()
        checker = ModelChecker(c.prog, c.outcome.sources, c.outcome.options)
        every = checker.properties()
        results = []
        for ob in c.obligations:
            shown.show(done, ob.label())
            results.append(checker.check(every[ob.index]))
            done += 1
        c.outcome.result = checker.result(results, c.compile_s + time.perf_counter() - start)


# NOTE(obligations): with jobs > 1 each (model, property) pair is an obligation that any worker
# may check, in any order; the results are put back in report order, so the report lists the
# same models and properties in the same order as a serial run. The statuses are the same too,
# and so are the trace lengths (each trace is a shortest one) and the coverage words. What a
# solver answers, among equally good answers, depends on what was asked before in that process:
# which of several shortest traces is shown (so its steps may differ; every one is replayed,
# NOTE(replay) in cli.py), which loops a `bounded` verdict names when executions can go past
# several, and the length of a trace whose minimisation the solver cut short (unknown). A serial
# run depends on its history the same way.
# A worker keeps the ModelChecker of the model it checked last (`_last_checker`), and is given
# the properties of one model for as long as there are any (`_next_obligation`), so a model is
# compiled and encoded by few workers and its coverage query is shared, as in a serial run.
# That cache lives only in worker processes, which live for one run.

_last_checker: tuple[tuple[str, VerifyOptions], ModelChecker] | None = None


def check_obligation(ob: Obligation) -> Answer:
    """Run in a worker process: check one obligation."""
    global _last_checker
    start = time.perf_counter()
    key = (ob.path, ob.options)
    if _last_checker is None or _last_checker[0] != key:
        _last_checker = None   # let the previous model's solver go first
        sources = SourceCache()
        _last_checker = (key, ModelChecker(compile_model(ob.path, sources, ob.options), sources, ob.options))
    checker = _last_checker[1]
    every = checker.properties()
    if ob.index >= len(every) or every[ob.index].name != ob.name:
        raise RuntimeError(f"{ob.path} changed while it was being verified: property {ob.name} is not where it was")
    result = checker.check(every[ob.index])
    return Answer(result, checker.stats(), time.perf_counter() - start)


def _check_in_workers(compiled: list[_Compiled], jobs: int, shown: Progress,
                      check: Callable[[Obligation], Answer]) -> None:
    order = [(c, ob) for c in compiled for ob in c.obligations]
    queues = [deque(i for i, (owner, _) in enumerate(order) if owner is c) for c in compiled]
    sizes = [len(c.prog.events) for c in compiled]
    workers = [_Worker() for _ in range(min(jobs, len(order)))]
    answers: dict[int, Answer | str] = {}
    running: dict[Future[Answer], tuple[_Worker, int]] = {}
    try:
        while len(answers) < len(order):
            for worker in workers:
                if worker not in (w for w, _ in running.values()):
                    i = _next_obligation(worker, workers, queues, sizes)
                    if i is not None:
                        running[worker.submit(check, order[i][1])] = (worker, i)
            oldest = min(i for _, i in running.values())
            shown.show(len(answers), order[oldest][1].label())
            finished, _ = wait(running, timeout=0.25, return_when=FIRST_COMPLETED)
            for future in finished:
                worker, i = running.pop(future)
                answers[i] = _answer_or_error(future, order[i][1])
                if isinstance(future.exception(), BrokenProcessPool):
                    worker.restart()
    finally:
        for worker in workers:
            worker.stop()
    _assemble(compiled, order, answers)


class _Worker:
    """One worker process (a pool of one, so that the parent decides who checks what)."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self.model: int | None = None    # the queue (model) it took its last obligation from

    def submit(self, check: Callable[[Obligation], Answer], ob: Obligation) -> Future[Answer]:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        return self._pool.submit(check, ob)

    def restart(self) -> None:
        """After the process died: the next obligation gets a new one."""
        self.stop()
        self.model = None

    def stop(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _next_obligation(worker: _Worker, workers: list[_Worker], queues: list[deque[int]],
                     sizes: list[int]) -> int | None:
    """The obligation a free worker takes next: another property of the model it has encoded;
    else one of the largest model nobody works on (`sizes`: events; large models first, so
    small ones fill the gaps at the end); else one of the model with the most left to check.
    A worker moves to another model only when it must, so each model is compiled and encoded by
    few workers, and its properties share their solver session as in a serial run."""
    if worker.model is not None and queues[worker.model]:
        return queues[worker.model].popleft()
    taken = {w.model for w in workers if w is not worker}
    free = [m for m, q in enumerate(queues) if q and m not in taken]
    busiest = max(range(len(queues)), key=lambda m: len(queues[m]))
    model = max(free, key=lambda m: sizes[m]) if free else busiest
    if not queues[model]:
        return None
    worker.model = model
    return queues[model].popleft()


def _answer_or_error(future: Future[Answer], ob: Obligation) -> Answer | str:
    """The worker's answer, or the internal error it hit, naming the model and property."""
    try:
        return future.result()
    except BrokenProcessPool:
        return f"checking {ob.name} of {ob.path}: a worker process died (killed, or out of memory)"
    except Exception as exc:   # noqa: BLE001  a tool bug in the worker: report it, never a verdict
        where = getattr(exc.__cause__, "tb", "")   # the worker's traceback, as concurrent.futures sends it
        return f"checking {ob.name} of {ob.path} failed in a worker process: {type(exc).__name__}: {exc}" + \
            (f"\n{where.rstrip()}" if where else "")


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
        result = ModelResult(c.prog.path, c.prog.bound, (), tuple(a.result for a in done), time_s, stats)
        if errors:
            # no result for the model, but the other properties' verdicts still stand
            c.outcome.worker_errors = [a for a, _ in errors]
            c.outcome.failed = [name for _, name in errors]
            c.outcome.partial = result if done else None
            continue
        c.outcome.result = result


def replay_counterexamples(path: str, options: VerifyOptions, result: ModelResult) -> dict[str, str]:
    """Replay every counterexample of `result` on the reference interpreter (interpret.py):
    the properties whose counterexample does not replay, each with the internal error."""
    from .interpret import replay
    from .parser import load_model
    from .resolve import resolve

    violated = [p for p in result.properties if p.status == VIOLATED and p.trace is not None]
    if not violated:
        return {}
    program = resolve(load_model(path, SourceCache()), dict(options.defines), options.bound)
    failures = {}
    for p in violated:
        assert p.trace is not None
        schedule = [(s.thread, s.file, s.line) for s in p.trace.steps]
        ok, why = replay(program, schedule, p.name, p.kind)
        if not ok:
            failures[p.name] = f"the counterexample for {p.name} in {path} does not replay: {why}"
    return failures
