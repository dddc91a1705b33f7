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
   (NOTE(workers)) gives an internal error for its obligation, never a verdict;
3. each model's `ModelResult` is put together from its properties' results in report order, and
   its counterexamples are replayed here.
"""

from __future__ import annotations

import dataclasses
import math
import multiprocessing
import multiprocessing.connection
import os
import re
import signal
import threading
import time
import traceback
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any, Callable, Iterator, TextIO

from ..lang.diagnostics import Diagnostic, SourceCache, SourceFile, UserError, working_on
from ..prove.events import EventProgram
from ..prove.verdict import VIOLATED, ModelResult, PropertyResult, Trace
from ..prove.verify import ModelChecker, VerifyOptions, compile_model, properties, selected
from .progress import Progress

if TYPE_CHECKING:
    from .dask_pool import DaskPool


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
    outcome: ModelOutcome
    prog: EventProgram
    obligations: list[Obligation]
    compile_s: float


def verify_models(paths: list[str], options: VerifyOptions, jobs: int = 1,
                  progress: TextIO | None = None, scheduler: DaskPool | None = None) -> list[ModelOutcome]:
    """Verify each model and replay its counterexamples; with `jobs` > 1 the obligations run in
    that many worker processes, with a `scheduler` on its Dask cluster (runner/dask_pool.py).
    The outcomes are the same either way (NOTE(obligations)).
    `progress`: where the progress line goes (only if it is a terminal)."""
    return run_obligations(paths, options, jobs, progress, check_obligation, scheduler)


def run_obligations(paths: list[str], options: VerifyOptions, jobs: int, progress: TextIO | None,
                    check: Callable[[Obligation], Answer], scheduler: DaskPool | None = None) -> list[ModelOutcome]:
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
        if scheduler is not None:
            from .dask_pool import _check_on_dask   # only here: a run without it never loads Dask
            _check_on_dask(compiled, scheduler, shown, check)
        elif min(jobs, total) > 1:
            _check_in_workers(compiled, jobs, shown, check)
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
            checker = ModelChecker(c.prog, c.outcome.sources, c.outcome.options)
            every = checker.properties()
            results = []
            for ob in c.obligations:
                shown.show(done, ob.label())
                results.append(checker.check(every[ob.index]))
                done += 1
            c.outcome.result = checker.result(results, c.compile_s + time.perf_counter() - start)


# NOTE(obligations): with jobs > 1 (or a Dask scheduler, runner/dask_pool.py) each (model,
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
        _last_checker = None   # let the previous model's solver go first
        sources = SourceCache.shipped(ob.files) if ob.files else SourceCache()
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
    workers = [_Worker(check) for _ in range(min(jobs, len(order)))]
    answers: dict[int, Answer | str] = {}
    clock = _AwakeClock()
    grace = worker_grace_s()
    try:
        while len(answers) < len(order):
            for worker in workers:
                if worker.task is None:
                    i = _next_obligation(worker, workers, queues, sizes)
                    if i is not None:
                        worker.give(i, order[i][1], clock.now())
            busy = [w for w in workers if w.task is not None]
            oldest = min(w.task for w in busy if w.task is not None)
            shown.show(len(answers), order[oldest][1].label())
            multiprocessing.connection.wait([x for w in busy for x in w.waitables()], timeout=0.25)
            now = clock.tick()
            for worker in busy:
                i = worker.task
                assert i is not None
                reply = worker.reply(now, grace)
                if reply is not None:
                    answers[i] = _answer_or_error(reply, order[i][1])
    except BaseException:
        for worker in workers:
            worker.kill()   # Ctrl-C or a bug here: end every worker now, busy or not
        raise
    for worker in workers:
        worker.stop()
    _assemble(compiled, order, answers)


# NOTE(workers): a worker is a process of its own, started by 'spawn', with a pipe to the parent.
# It is given one obligation at a time and answers with `_Done`, `_Failed` or `_Interrupted`;
# meanwhile a thread of the worker sends `_ALIVE` every HEARTBEAT_S seconds (z3 releases the GIL
# while it solves, so a live worker always beats, however long its query). The parent ends a
# worker and reports an internal error for its obligation when it has heard nothing from it for
# the grace period (worker_grace_s: a stopped process, SIGSTOP or a frozen machine; STARTUP_S
# more before a new worker's first beat, which comes once it has loaded z3) or when the process
# is gone (killed, out of memory); a worker that is merely slow is never ended, since
# each query is bounded by the solver's timeout. Silence is measured on `_AwakeClock`, which
# stops while the parent itself is stopped (Ctrl-Z), so a resumed run does not blame its
# workers. Workers ignore SIGINT: Ctrl-C interrupts the parent, which kills them (a Ctrl-C that
# z3 catches in a worker comes back as `_Interrupted` and interrupts the parent too). A worker
# whose parent is gone exits when its heartbeat finds the pipe closed.

HEARTBEAT_S = 0.5
WORKER_GRACE_S = 60.0                          # silence after which a worker is ended
STARTUP_S = 60.0                               # allowed on top, before a new worker's first beat
GRACE_VARIABLE = "OBJCG_PROVE_WORKER_GRACE"   # seconds, overriding WORKER_GRACE_S


def worker_grace_s() -> float:
    """The grace period: OBJCG_PROVE_WORKER_GRACE if set to a positive number, else WORKER_GRACE_S."""
    try:
        value = float(os.environ.get(GRACE_VARIABLE, ""))
    except ValueError:
        return WORKER_GRACE_S
    return value if math.isfinite(value) and value > 0 else WORKER_GRACE_S


_ALIVE = "alive"


@dataclass(frozen=True)
class _Done:
    answer: Answer


@dataclass(frozen=True)
class _Failed:
    error: str        # "TYPE: message"
    traceback: str


@dataclass(frozen=True)
class _Interrupted:
    pass


@dataclass(frozen=True)
class _Died:
    stopped_answering: float = 0.0   # the grace period it overran; 0: the process is gone


class _AwakeClock:
    """Seconds the parent was awake: a gap between two ticks counts at most one second."""

    def __init__(self) -> None:
        self._last = time.monotonic()
        self._awake = 0.0

    def tick(self) -> float:
        now = time.monotonic()
        self._awake += min(now - self._last, 1.0)
        self._last = now
        return self._awake

    def now(self) -> float:
        return self._awake


def _serve(conn: Connection, check: Callable[[Obligation], Answer]) -> None:
    """A worker process: answer obligations until told to stop (None) or the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    lock = threading.Lock()

    def send(message: object) -> None:
        with lock:
            conn.send(message)

    def beat() -> None:
        while True:
            try:
                send(_ALIVE)
            except (OSError, ValueError):
                os._exit(1)   # the parent is gone
            time.sleep(HEARTBEAT_S)

    threading.Thread(target=beat, name="heartbeat", daemon=True).start()
    while True:
        try:
            ob = conn.recv()
        except (EOFError, OSError):
            return
        if ob is None:
            return
        reply: object
        try:
            reply = _Done(check(ob))
        except KeyboardInterrupt:
            reply = _Interrupted()
        except BaseException as exc:   # noqa: BLE001  a tool bug in the worker: the parent reports it
            reply = _Failed(f"{type(exc).__name__}: {exc}", traceback.format_exc())
        try:
            send(reply)
        except Exception as exc:   # noqa: BLE001  e.g. an answer that cannot be pickled
            send(_Failed(f"{type(exc).__name__}: {exc}", traceback.format_exc()))


class _Worker:
    """One worker process (NOTE(workers)); the parent decides who checks what."""

    def __init__(self, check: Callable[[Obligation], Answer]) -> None:
        self._check = check
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None
        self.model: int | None = None    # the queue (model) it took its last obligation from
        self.task: int | None = None     # the obligation it works on
        self._heard = 0.0                # when it last gave a sign of life (_AwakeClock)
        self._beating = False            # whether it has (after starting up)

    def give(self, i: int, ob: Obligation, now: float) -> None:
        if self._process is not None and not self._process.is_alive():
            self.kill()   # it died while it was idle: a new one takes the obligation
        try:
            self._send(ob)
        except OSError:   # ... or it died just now
            self.kill()
            self._send(ob)
        self.task, self._heard = i, now

    def _send(self, ob: Obligation) -> None:
        if self._process is None:
            context = multiprocessing.get_context("spawn")
            ours, theirs = context.Pipe()
            process = context.Process(target=_serve, args=(theirs, self._check), daemon=True,
                                      name="objcg-prove worker")
            with _sigint_ignored():   # the new process inherits SIG_IGN before it runs any Python
                process.start()
            theirs.close()
            self._process, self._conn, self._beating = process, ours, False
        assert self._conn is not None
        self._conn.send(ob)

    def waitables(self) -> list[Any]:
        assert self._process is not None and self._conn is not None
        return [self._conn, self._process.sentinel]

    def reply(self, now: float, grace: float) -> _Done | _Failed | _Interrupted | _Died | None:
        """The worker's reply to its task, if it has come (or the worker is gone); None while it
        works. Ends a worker that has been silent longer than `grace`."""
        assert self._process is not None and self._conn is not None
        reply: _Done | _Failed | _Interrupted | _Died | None = None
        try:
            while reply is None and self._conn.poll():
                message = self._conn.recv()
                self._heard, self._beating = now, True
                if message != _ALIVE:
                    reply = message
        except (EOFError, OSError):
            reply = _Died()
        if reply is None and not self._process.is_alive():
            reply = _Died()
        allowed = grace if self._beating else grace + STARTUP_S
        if reply is None and now - self._heard > allowed:
            reply = _Died(allowed)
        if reply is None:
            return None
        self.task = None
        if isinstance(reply, _Died):
            self.kill()
            self.model = None
        return reply

    def kill(self) -> None:
        """End the process now (a stopped one too); the next obligation gets a new one."""
        if self._process is not None:
            self._process.kill()
            self._process.join()
            self._close()

    def stop(self) -> None:
        """Let an idle process exit, and end it if it does not."""
        if self._process is not None:
            assert self._conn is not None
            try:
                self._conn.send(None)
            except OSError:
                pass
            self._process.join(timeout=5)
            self.kill()

    def _close(self) -> None:
        assert self._process is not None and self._conn is not None
        self._conn.close()
        self._process.close()
        self._process = self._conn = None
        self.task = None


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


def _answer_or_error(reply: _Done | _Failed | _Interrupted | _Died, ob: Obligation) -> Answer | str:
    """The worker's answer, or the internal error it hit, naming the model and property."""
    if isinstance(reply, _Done):
        return reply.answer
    if isinstance(reply, _Interrupted):
        raise KeyboardInterrupt   # Ctrl-C reached the worker's solver: the whole run is interrupted
    if isinstance(reply, _Failed):   # a tool bug in the worker: reported, never a verdict
        return f"checking {ob.name} of {ob.path} failed in a worker process: {reply.error}\n{reply.traceback.rstrip()}"
    if reply.stopped_answering:
        return (f"checking {ob.name} of {ob.path}: a worker process stopped answering (no sign of life for "
                f"{reply.stopped_answering:g} s: stopped, or the machine is overloaded); it was ended")
    return f"checking {ob.name} of {ob.path}: a worker process died (killed, or out of memory)"


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
    from ..oracles.interpret import StateLimit, replay
    from ..lang.parser import load_model
    from ..lang.resolve import resolve

    violated = [p for p in result.properties if p.status == VIOLATED and p.trace is not None]
    if not violated:
        return {}, result
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
    if unreplayed:
        result = dataclasses.replace(result, properties=tuple(
            dataclasses.replace(p, trace=dataclasses.replace(p.trace, unreplayed=unreplayed[p.name]))
            if p.name in unreplayed and p.trace is not None else p for p in result.properties))
    return failures, result


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
