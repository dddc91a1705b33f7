"""Bad --scheduler use is bad input (exit 2, one line, no traceback) on every command that takes
it: with --jobs > 1, a malformed local:N, Dask not installed, an address nobody answers at
(named, and given up on quickly). Runs on a Dask cluster: tests/runner/test_dask.py."""

from __future__ import annotations

import importlib.util
import threading
import time

import pytest

from cli_helpers import PROVED as ATOMIC
from objcg_proof.runner import dask_pool

COMMANDS = [[], ["prove"], ["check"], ["compare"]]


@pytest.mark.parametrize("command", COMMANDS, ids=["default", "prove", "check", "compare"])
def test_scheduler_with_jobs_is_a_usage_error(models, command):
    models.write(ATOMIC)
    run = models.cli(*command, "m.dsl", "--scheduler", "local:2", "--jobs", "2")
    assert run.rc == 2 and "Traceback" not in run.err
    assert "error: --scheduler and --jobs 2: choose one" in run.err, run.err


@pytest.mark.parametrize("value", ["local:0", "local:x", "local:", "local:-1", " "])
def test_a_malformed_scheduler_is_a_usage_error(models, value):
    models.write(ATOMIC)
    run = models.cli("m.dsl", "--scheduler", value)
    assert run.rc == 2 and run.out == "" and "Traceback" not in run.err
    assert run.err.startswith("objcg-prove: error: --scheduler"), run.err


@pytest.mark.parametrize("command", COMMANDS, ids=["default", "prove", "check", "compare"])
def test_without_dask_the_error_says_what_to_install(models, monkeypatch, command):
    models.write(ATOMIC)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "distributed" else real(name, *a))
    run = models.cli(*command, "m.dsl", "--scheduler", "tcp://127.0.0.1:8786")
    assert run.rc == 2 and "Traceback" not in run.err
    assert "--scheduler needs Dask distributed, which is not installed: pip install 'objcg-prove[dask]'" in run.err


@pytest.mark.parametrize("command", COMMANDS, ids=["default", "prove", "check", "compare"])
def test_an_unreachable_scheduler_is_named_quickly(models, monkeypatch, command):
    pytest.importorskip("distributed")
    monkeypatch.setattr(dask_pool, "CONNECT_TIMEOUT_S", 1.0)
    models.write(ATOMIC, "models/m.dsl")
    if command == ["check"]:
        assert models.cli("prove", "--record", "models/m.dsl").rc == 0
    start = time.monotonic()
    run = models.cli(*command, "models/m.dsl", "--scheduler", "tcp://127.0.0.1:1", *(["--no-cache"] if command == ["check"] else []))
    assert time.monotonic() - start < 10
    assert run.rc == 2, (run.out, run.err)
    assert "Traceback" not in run.err
    assert "error: --scheduler tcp://127.0.0.1:1: cannot connect to a Dask scheduler there" in run.err, run.err
    assert run.err.count("\n") <= 2


def test_the_json_report_says_so_too(models):
    pytest.importorskip("distributed")
    models.write(ATOMIC)
    run = models.cli("m.dsl", "--json", "--scheduler", "nonsense://x")
    assert run.rc == 2, run.err
    assert run.json()["errors"][0]["message"].startswith("--scheduler nonsense://x: cannot connect"), run.out


def test_a_scheduler_without_workers_is_named_not_waited_on_forever(models, monkeypatch):
    distributed = pytest.importorskip("distributed")
    monkeypatch.setattr(dask_pool, "WORKERS_TIMEOUT_S", 1.0)
    models.write(ATOMIC)
    with distributed.LocalCluster(n_workers=0, processes=True, host="127.0.0.1", dashboard_address=":0") as empty:
        address = str(empty.scheduler_address)
        got: list = []
        waiting = threading.Thread(target=lambda: got.append(models.cli("m.dsl", "--scheduler", address)), daemon=True)
        waiting.start()
        waiting.join(20)   # fail, never hang, if the run waits for a worker that will not come
        assert got, "the run was still waiting for a worker after 20 s"
    run = got[0]
    assert run.rc == 2 and run.out == "" and "Traceback" not in run.err, (run.out, run.err)
    assert (f"error: --scheduler {address}: the scheduler has no worker (waited 1 s): "
            f"start one with `dask worker {address}`") in run.err, run.err
