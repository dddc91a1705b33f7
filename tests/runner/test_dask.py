"""--scheduler: obligations checked on a Dask cluster give the report `--jobs 2` gives, in the
same order (prove, check, compare); a task that raises and a worker that dies are internal errors
for their obligation, never verdicts; the model files travel with the tasks; local:N workers are
spawned, not forked. One cluster of two worker processes serves the module (started as
`local:2` is); the CLI is pointed at it by its tcp:// address, and one test starts its own with
`--scheduler local:2`. Bad --scheduler values: tests/runner/test_scheduler_option.py."""

from __future__ import annotations

import csv
import io
import multiprocessing
import os
import shutil
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

distributed = pytest.importorskip("distributed")

from cli_helpers import PROVED as ATOMIC  # noqa: E402
from objcg_proof import __version__  # noqa: E402
from objcg_proof.cli import dispatch as cli  # noqa: E402
from objcg_proof.prove.verify import VerifyOptions  # noqa: E402
from objcg_proof.runner import dask_pool  # noqa: E402
from objcg_proof.runner.batch import run_obligations  # noqa: E402
from test_jobs import failing_check, verdicts_json  # noqa: E402   (raises on raise.dsl, dies on die.dsl)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "models" / "examples"
V5 = ROOT / "tests" / "narrow" / "objcg_v5.dsl"   # a shipped design on a scenario that takes seconds
RUN_TIMEOUT_S = 90.0   # no test here may hang: a run that takes longer fails


@pytest.fixture(scope="module")
def pool():
    """A local:2 cluster for the module, and what its workers had loaded when they started."""
    with dask_pool.open_pool("local:2") as opened:
        assert opened is not None
        opened.started_with_z3 = opened.client.run(lambda: "z3" in sys.modules)   # type: ignore[attr-defined]
        yield opened


@pytest.fixture
def address(pool) -> str:
    return str(pool.client.scheduler.address)


def in_time(run: Any, *args: Any) -> Any:
    """run(*args) in a thread, failing (not hanging) if it has not returned in RUN_TIMEOUT_S."""
    got: list[Any] = []
    worker = threading.Thread(target=lambda: got.append(run(*args)), daemon=True)
    worker.start()
    worker.join(RUN_TIMEOUT_S)
    assert not worker.is_alive(), f"the run did not end in {RUN_TIMEOUT_S} s"
    assert got, "the run raised (see the thread's exception above)"
    return got[0]


def without_times(value: Any) -> Any:
    """A JSON document without its times; each trace by its length (which of several shortest
    traces a solver finds may differ: NOTE(obligations) in runner/batch.py)."""
    if isinstance(value, dict):
        return {k: (len(v) if k == "trace" else without_times(v)) for k, v in value.items()
                if k not in ("time_s", "violation")}
    if isinstance(value, list):
        return [without_times(v) for v in value]
    return value


# ---- the workers ------------------------------------------------------------------------------


def test_local_workers_are_spawned_not_forked(pool):
    # this process has z3 loaded (the package imports it); a forked worker would have it too
    assert "z3" in sys.modules
    assert list(pool.started_with_z3.values()) == [False, False]


# ---- the same report as --jobs 2 ----------------------------------------------------------------


def test_prove_gives_the_report_of_jobs_2(models, address):
    names = [str(V5), str(EXAMPLES / "counter.dsl"), str(EXAMPLES / "peterson_broken.dsl")]
    jobs = models.cli(*names, "--json", "--jobs", "2")
    dask = in_time(models.cli, *names, "--json", "--scheduler", address)
    assert dask.rc == jobs.rc == 1, (jobs.err, dask.err)
    assert dask.err == jobs.err == ""
    assert without_times(dask.json()) == without_times(jobs.json())
    # what the comparison keeps: the order, every status, each counterexample's length
    assert verdicts_json(dask.json()) == verdicts_json(jobs.json())
    rows = dask.json()["results"]
    assert [r["model"] for r in rows][0] == str(V5) and rows[-1]["model"] == names[-1]
    assert {r["property"]: r["status"] for r in rows if r["model"] == str(V5)}["uaf"] == "proved"
    assert [len(r["trace"]) for r in rows if r["status"] == "violated"] == [10, 10]


def test_model_files_travel_with_the_tasks(models, address, pool):
    # relative paths, an include: the workers run elsewhere and never read this directory
    models.write("shared word extra = 0;\n", "lib/shared.dsl")
    models.write('include "lib/shared.dsl";\n' + ATOMIC.lstrip("\n"))
    assert str(models.root) not in pool.client.run(os.getcwd).values()
    jobs = models.cli("m.dsl", "--json", "--jobs", "2")
    dask = in_time(models.cli, "m.dsl", "--json", "--scheduler", address)
    assert jobs.rc == dask.rc == 0, (jobs.err, dask.err)
    assert without_times(dask.json()) == without_times(jobs.json())


def test_check_gives_the_outcome_of_jobs_2(models, address):
    for name in ("counter.dsl", "peterson_broken.dsl"):
        shutil.copy(EXAMPLES / name, models.root / name)
    assert models.cli("prove", "--record", "counter.dsl", "peterson_broken.dsl").rc == 1
    jobs = models.cli("check", "--no-cache", "--json", "--jobs", "2", "counter.dsl", "peterson_broken.dsl")
    dask = in_time(models.cli, "check", "--no-cache", "--json", "--scheduler", address,
                   "counter.dsl", "peterson_broken.dsl")
    assert jobs.rc == dask.rc == 0, (jobs.err, dask.err)
    assert without_times(dask.json()) == without_times(jobs.json())
    assert [m["status"] for m in dask.json()["models"]] == ["pass", "pass"]


def test_compare_gives_the_table_of_jobs_2(models, address):
    names = [str(EXAMPLES / "counter.dsl"), str(EXAMPLES / "peterson_broken.dsl")]
    jobs = models.cli("compare", *names, "--format", "csv", "--jobs", "2")
    dask = in_time(models.cli, "compare", *names, "--format", "csv", "--scheduler", address)
    assert jobs.rc == dask.rc, (jobs.err, dask.err)

    def table(out: str) -> list[dict[str, str]]:
        return [{k: v for k, v in row.items() if not k.endswith("time_s")} for row in csv.DictReader(io.StringIO(out))]

    assert table(dask.out) == table(jobs.out)
    assert [row["design"] for row in table(dask.out)] == ["counter", "peterson_broken"]


def test_local_n_starts_a_cluster_for_the_run_and_ends_it(models):
    names = [str(EXAMPLES / "counter.dsl"), str(EXAMPLES / "refcount.dsl")]
    jobs = models.cli(*names, "--json", "--jobs", "2")
    threads, children = set(threading.enumerate()), set(multiprocessing.active_children())
    dask = in_time(models.cli, *names, "--json", "--scheduler", "local:2")
    assert dask.rc == jobs.rc, (jobs.err, dask.err)
    assert dask.err == jobs.err == ""
    assert without_times(dask.json()) == without_times(jobs.json())
    # nothing of the run's cluster is left: no worker process, no thread that keeps us alive
    assert set(multiprocessing.active_children()) <= children
    assert not [t for t in set(threading.enumerate()) - threads if t.is_alive() and not t.daemon]


# ---- a task that fails ------------------------------------------------------------------------


def test_a_task_that_raises_or_whose_worker_dies_is_no_verdict(models, pool):
    for name in ("raise.dsl", "die.dsl", "fine.dsl"):
        models.write(ATOMIC, name)
    outcomes = in_time(run_obligations, ["raise.dsl", "die.dsl", "fine.dsl"], VerifyOptions(), 1, None,
                       failing_check, pool)
    raised, died, fine = outcomes
    assert raised.result is None and not raised.bad_input and raised.failed == ["count"]
    assert raised.worker_errors[0].startswith(
        "checking count of raise.dsl failed in a Dask worker: RuntimeError: the encoder fell over\nTraceback")
    assert "failing_check" in raised.worker_errors[0]   # the worker's traceback
    assert died.result is None and died.failed == ["count"]
    assert died.worker_errors[0].startswith("checking count of die.dsl: a Dask worker died while checking it")
    # the other properties of both, and the other model, keep their verdicts
    for outcome in (raised, died):
        standing = outcome.standing()
        assert standing is not None and [(p.name, p.status) for p in standing.properties] == \
            [("uaf", "proved"), ("deadlock", "proved")]
    assert fine.result is not None and [p.status for p in fine.result.properties] == ["proved"] * 3


def test_the_command_reports_a_failed_task_as_an_internal_error(models, monkeypatch, address):
    models.write(ATOMIC, "raise.dsl")
    models.write(ATOMIC, "fine.dsl")
    monkeypatch.setattr(cli, "verify_models", lambda paths, options, jobs, progress, scheduler=None, log=False:
                        run_obligations(paths, options, jobs, progress, failing_check, scheduler))
    run = in_time(models.cli, "raise.dsl", "fine.dsl", "--scheduler", address)
    assert run.rc == 4
    assert run.err.startswith("objcg-prove: internal error: checking count of raise.dsl failed in a Dask worker: "
                              "RuntimeError: the encoder fell over")
    assert "raise.dsl  (bound" in run.out and "fine.dsl  (bound 2" in run.out
    assert run.out.count("  count ") == 1   # fine.dsl's; raise.dsl's has none


def test_the_pool_still_works_after_a_worker_died(models, pool):
    models.write(ATOMIC, "die.dsl")
    models.write(ATOMIC, "fine.dsl")
    in_time(run_obligations, ["die.dsl"], VerifyOptions(), 1, None, failing_check, pool)
    (fine,) = in_time(run_obligations, ["fine.dsl"], VerifyOptions(), 1, None, failing_check, pool)
    assert fine.result is not None and [p.status for p in fine.result.properties] == ["proved"] * 3
    # the worker started in place of the dead one ignores Ctrl-C too (only the parent ends them)
    pool.client.wait_for_workers(2, timeout=RUN_TIMEOUT_S)
    assert list(pool.client.run(lambda: signal.getsignal(signal.SIGINT) == signal.SIG_IGN).values()) == [True, True]


def test_a_worker_with_another_objcg_prove_gives_no_verdict(models, pool, monkeypatch):
    models.write(ATOMIC)
    monkeypatch.setattr(dask_pool, "__version__", "0.0.0-elsewhere")   # the run's; the workers have theirs
    (outcome,) = in_time(run_obligations, ["m.dsl"], VerifyOptions(), 1, None, failing_check, pool)
    assert outcome.result is None and outcome.standing() is None
    assert outcome.failed == ["uaf", "deadlock", "count"]
    assert f"RuntimeError: this Dask worker runs objcg-prove {__version__}, the run objcg-prove 0.0.0-elsewhere" \
        in outcome.worker_errors[0]
