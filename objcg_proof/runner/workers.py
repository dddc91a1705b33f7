"""The --jobs worker processes of runner/batch.py: `check_in_workers` checks the obligations of
compiled models in `jobs` processes of their own (NOTE(workers)) and puts each model's result
together as a serial run would (NOTE(obligations) in batch.py). Loaded only for a run with more
than one job, so a serial run never loads multiprocessing.
"""

from __future__ import annotations

import math
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Callable

from .batch import Answer, Obligation, _assemble, _Compiled, _sigint_ignored
from .progress import Progress


def check_in_workers(compiled: list[_Compiled], jobs: int, shown: Progress,
                      check: Callable[[Obligation], Answer]) -> None:
    order = [(c, ob) for c in compiled for ob in c.obligations]
    queues = [deque(i for i, (owner, _) in enumerate(order) if owner is c) for c in compiled]
    sizes = [len(c.prog.events) for c in compiled]
    count = min(jobs, len(order))
    workers = [_Worker(check, count) for _ in range(count)]
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


def _serve(conn: Connection, check: Callable[[Obligation], Answer], processes: int = 1) -> None:
    """A worker process: answer obligations until told to stop (None) or the pipe closes; its z3
    holds to its share of the machine's memory among `processes` workers (NOTE(memory-limit))."""
    from ..prove.solver import limit_memory   # the worker's own z3, imported by now through `check`

    limit_memory(processes)
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

    def __init__(self, check: Callable[[Obligation], Answer], processes: int = 1) -> None:
        self._check = check
        self._processes = processes      # how many workers share the machine's memory (NOTE(memory-limit))
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
            process = context.Process(target=_serve, args=(theirs, self._check, self._processes), daemon=True,
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
