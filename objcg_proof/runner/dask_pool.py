"""Obligations on a Dask cluster: `--scheduler ADDRESS` (a running scheduler) or `local:N`.

Input: the compiled models of runner/batch.py (`_Compiled`, with their `Obligation`s) and a
`DaskPool` opened by `open_pool`. Output: an answer or an internal error per obligation, put in
report order by batch's `_assemble`, so the outcomes, their order and their errors are those of
`--jobs` (NOTE(obligations), NOTE(dask) below). Dask itself (`distributed`, `dask`) is imported
only here, and only inside these functions: a run without `--scheduler` never loads it.
"""

from __future__ import annotations

import itertools
import logging
import signal
import threading
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from .. import __version__
from .batch import Answer, Obligation, _assemble, _Compiled, _sigint_ignored
from .progress import Progress

INSTALL_HINT = "pip install 'objcg-prove[dask]'"
CONNECT_TIMEOUT_S = 10.0   # how long to try to reach a scheduler before giving up
WORKERS_TIMEOUT_S = 30.0   # how long a scheduler may have no worker before the run gives up
LOCAL_PREFIX = "local:"


class SchedulerError(Exception):
    """The scheduler cannot be used (not installed, unreachable, a bad address): bad input, exit 2."""


@dataclass
class DaskPool:
    """A connected Dask client, and what it was opened with."""
    address: str      # as given: tcp://host:8786, or local:N
    client: Any       # distributed.Client


# NOTE(dask): each obligation is one Dask task (`_task`, submitted with pure=False, so two equal
# obligations are two tasks), carrying the model's files as the parent compiled them
# (NOTE(shipped-sources) in lang/diagnostics.py): workers need not share the parent's disk, only
# objcg-prove at the same version. The answers are put back in report order, so the report is
# the one `--jobs` gives. A task that raises is that obligation's internal error, with the
# worker's traceback; so is a task whose worker died (KilledWorker: `local:N` starts its
# scheduler with `allowed-failures` 0, so that a death is reported at once, as with --jobs; a
# scheduler started elsewhere retries on other workers as often as its own setting says) and a
# task that was cancelled or lost (the scheduler went away). Only an `Answer` that came back is
# a verdict. A worker runs one task at a time (`_ONE_AT_A_TIME`: z3's context and batch's
# `_last_checker` are the process's), so it can keep the model it checked last, as a --jobs
# worker does. Ctrl-C cancels every task still pending and closes the client (and ends the
# `local:N` cluster). `local:N` workers are started by 'spawn' (z3 is never forked) with SIGINT
# ignored, as --jobs workers are (a worker the cluster restarts too: `_sigint_ignored_on_workers`):
# Ctrl-C reaches the parent, which ends them. A task refuses to run on a worker whose objcg-prove
# is another version than the run's (an internal error, never a verdict of other code).

_ONE_AT_A_TIME = threading.Lock()   # a Dask worker may run tasks in several threads


def local_workers(address: str) -> int | None:
    """N of `local:N` (None for any other address); raises SchedulerError if N is not a count."""
    if not address.startswith(LOCAL_PREFIX):
        return None
    n = address[len(LOCAL_PREFIX):]
    if not (n.isascii() and n.isdigit()) or int(n) < 1:
        raise SchedulerError(f"--scheduler {address}: expected local:N with N at least 1, as in local:2")
    return int(n)


@contextmanager
def open_pool(address: str | None) -> Iterator[DaskPool | None]:
    """A client of the scheduler at `address` (None: no pool), for the whole command; with
    `local:N`, a cluster of N worker processes on this machine that ends with it."""
    if address is None:
        yield None
        return
    workers = local_workers(address)
    try:
        import dask
        import distributed
    except ImportError as exc:
        raise SchedulerError(f"--scheduler needs Dask distributed, which is not installed ({exc}): "
                             f"{INSTALL_HINT}") from None
    config = {"distributed.scheduler.allowed-failures": 0,        # NOTE(dask): a death is an error at once
              "distributed.worker.multiprocessing-method": "spawn"}   # z3 is never forked
    cluster = client = None
    with dask.config.set(config):
        try:
            if workers is not None:
                with _sigint_ignored():   # the workers inherit SIG_IGN (NOTE(workers) in runner/workers.py)
                    # on this machine's loopback only; the status page on any free port (":8787", the
                    # default, warns when another cluster has it); Dask's own log lines silenced
                    cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                       memory_limit=0, host="127.0.0.1", dashboard_address=":0",
                                                       silence_logs=logging.CRITICAL)
            try:
                client = distributed.Client(cluster if cluster is not None else address,
                                            timeout=CONNECT_TIMEOUT_S, set_as_default=False)
            except (OSError, ValueError, TypeError) as exc:   # unreachable, refused, not an address
                raise SchedulerError(f"--scheduler {address}: cannot connect to a Dask scheduler there: "
                                     f"{_words(exc)}") from None
            if cluster is not None:
                client.register_plugin(_sigint_ignored_on_workers())   # a worker restarted after a death too
            _wait_for_a_worker(client, address)
            yield DaskPool(address, client)
        finally:
            if client is not None:
                client.close()
            if cluster is not None:
                cluster.close()


def _wait_for_a_worker(client: Any, address: str) -> None:
    """Return once the scheduler has a worker; a scheduler that has none within WORKERS_TIMEOUT_S
    is a SchedulerError, not a run whose tasks wait forever (the tasks would be queued on a
    cluster that nothing serves)."""
    try:
        client.wait_for_workers(1, timeout=WORKERS_TIMEOUT_S)
    except TimeoutError:
        raise SchedulerError(f"--scheduler {address}: the scheduler has no worker (waited {WORKERS_TIMEOUT_S:g} s): "
                             f"start one with `dask worker {address}`") from None


def _sigint_ignored_on_workers() -> Any:
    """A Dask worker plugin that ignores SIGINT in every worker of a `local:N` cluster, also one
    the cluster starts later (NOTE(dask)); defined here, so that Dask is imported only here."""
    from distributed.diagnostics.plugin import WorkerPlugin

    class SigintIgnored(WorkerPlugin):
        name = "objcg-prove-sigint-ignored"

        def setup(self, worker: Any) -> None:
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGINT, signal.SIG_IGN)

    return SigintIgnored()


def _task(check: Callable[[Obligation], Answer], ob: Obligation, version: str) -> Answer:
    """Run on a Dask worker: check one obligation, with the objcg-prove the run has."""
    if version != __version__:
        raise RuntimeError(f"this Dask worker runs objcg-prove {__version__}, the run objcg-prove {version}: "
                           "install the same version on every worker")
    from ..prove.solver import leave_sigint_alone
    # z3 installs a SIGINT handler of its own while it solves, over the SIG_IGN of a local:N
    # worker: a Ctrl-C on the terminal would stop the query and crash the worker with a traceback
    leave_sigint_alone()
    with _ONE_AT_A_TIME:
        try:
            return check(ob)
        except KeyboardInterrupt:
            # z3 caught a SIGINT sent to this worker (one of a cluster started by hand): an
            # ordinary failure of this task, an internal error in the report, never a crashed worker
            raise RuntimeError("interrupted on the Dask worker (SIGINT)") from None


def _words(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _check_on_dask(compiled: list[_Compiled], pool: DaskPool, shown: Progress,
                   check: Callable[[Obligation], Answer]) -> None:
    """Check every obligation on the pool's cluster (NOTE(dask)); the answers go to `_assemble`.
    No more tasks are out at once than the cluster has worker threads, so a worker holds only the
    task it runs: a worker that dies takes no other obligation down with it."""
    from distributed import as_completed

    order = [(c, ob) for c in compiled for ob in c.obligations]
    answers: dict[int, Answer | str] = {}
    out: dict[str, tuple[int, Any]] = {}   # task key -> (obligation, future), for the tasks not answered yet
    waiting = iter(range(len(order)))
    done = as_completed([], loop=pool.client.loop)

    def send_more() -> None:
        room = max(1, sum(pool.client.nthreads().values())) - len(out)   # workers may come and go
        for i in itertools.islice(waiting, max(room, 0)):
            future = pool.client.submit(_task, check, order[i][1], __version__, pure=False, retries=0)
            out[future.key] = (i, future)
            done.add(future)

    try:
        send_more()
        for future in done:
            shown.show(len(answers), order[min(i for i, _ in out.values())][1].label())
            i, _ = out.pop(future.key)
            answers[i] = _answer_or_error(future, order[i][1])
            send_more()
    except BaseException:
        # Ctrl-C, or a bug here: nothing pending may go on working for this run
        try:
            pool.client.cancel([future for _, future in out.values()], force=True)
        except Exception:   # noqa: BLE001  the client may be gone already; it is closed next
            pass
        raise
    _assemble(compiled, order, answers)


def _answer_or_error(future: Any, ob: Obligation) -> Answer | str:
    """The task's answer, or the internal error it gave, naming the model and property; never a
    verdict that did not come back (NOTE(dask))."""
    from distributed import KilledWorker

    where = f"checking {ob.name} of {ob.path}"
    status = future.status
    if status in ("cancelled", "lost"):
        return f"{where}: its Dask task was {status} (the scheduler or its workers went away)"
    try:
        if status == "error":
            exc = future.exception()
            if isinstance(exc, KilledWorker):
                return f"{where}: a Dask worker died while checking it (killed, or out of memory): {_words(exc)}"
            tb = future.traceback()
            lines = "".join(traceback.format_exception(type(exc), exc, tb)) if tb is not None else ""
            return f"{where} failed in a Dask worker: {type(exc).__name__}: {exc}\n{lines.rstrip()}"
        answer = future.result()
    except Exception as exc:   # noqa: BLE001  the answer could not be fetched: no verdict
        return f"{where}: its answer could not be fetched from the Dask cluster: {type(exc).__name__}: {_words(exc)}"
    if not isinstance(answer, Answer):
        return f"{where}: a Dask worker answered {type(answer).__name__}, not an answer"
    return answer
