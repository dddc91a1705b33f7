"""The process around the pipeline: a tool bug in any command is one line naming the model (exit
4, the traceback only with OBJCG_PROVE_DEBUG=1); Ctrl-C is one line and exit 130, with every
worker process ended; a worker that stops answering (SIGSTOP) is an internal error after the
grace period, and one that is slow but alive is waited for; a failed worker never passes the
gate or gives a row to `compare`."""

from __future__ import annotations

import io
import multiprocessing.connection
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import z3

from cli_helpers import PROVED
from conftest import CliRun
from objcg_proof.cli import dispatch as cli
from objcg_proof.cli import export as export_command
from objcg_proof.cli import gate
from objcg_proof.cli import simulate as simulate_command
from objcg_proof.lang import resolve
from objcg_proof.prove import solver
from objcg_proof.prove import verify
from objcg_proof.prove.verify import VerifyOptions
from objcg_proof.runner import batch, workers
from objcg_proof.runner.batch import Obligation, run_obligations
from objcg_proof.study import compare

ROOT = Path(__file__).resolve().parents[2]
V3 = str(ROOT / "tests" / "narrow" / "objcg_v3.dsl")   # a shipped design on a scenario that takes a few seconds


def run(*argv: str) -> CliRun:
    out, err = io.StringIO(), io.StringIO()
    rc = cli.main(list(argv), out, err)
    return CliRun(rc, out.getvalue(), err.getvalue())


def broken(*args: object, **kwargs: object) -> None:
    raise RuntimeError("the resolver fell over\non two lines")


# ---- a tool bug in any command ---------------------------------------------------------------

COMMANDS = [
    ("prove (default)", ["models/m.dsl"]),
    ("prove --jobs", ["models/m.dsl", "--jobs", "2"]),
    ("prove", ["prove", "models/m.dsl"]),
    ("check", ["check", "--no-cache", "models/m.dsl"]),
    ("compare", ["compare", "models/m.dsl"]),
    ("mutate", ["mutate", "models/m.dsl"]),
    ("export", ["export", "models/m.dsl"]),
    ("simulate", ["simulate", "models/m.dsl"]),
]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with one recorded model, models/m.dsl; also the current directory."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "m.dsl").write_text(PROVED.lstrip("\n"), encoding="utf-8")
    assert run("prove", "--record", "models/m.dsl").rc == 0
    return tmp_path


@pytest.mark.parametrize("name, argv", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_a_tool_bug_in_any_command_is_one_line_naming_the_model(project, monkeypatch, name, argv):
    # every command resolves the model: a bug there is the tool's, not the user's
    monkeypatch.setattr(resolve.Resolver, "run", broken)
    monkeypatch.delenv(cli.DEBUG_VARIABLE, raising=False)
    got = run(*argv)
    assert got.rc == 4, (got.rc, got.err)
    assert got.err == "objcg-prove: internal error: models/m.dsl: RuntimeError: the resolver fell over on two lines\n"


def test_prove_json_is_a_json_document_on_a_tool_bug_and_on_bad_usage(project, monkeypatch):
    import json
    monkeypatch.setattr(resolve.Resolver, "run", broken)
    monkeypatch.delenv(cli.DEBUG_VARIABLE, raising=False)
    got = run("--json", "models/m.dsl")
    assert got.rc == 4, got.err
    doc = json.loads(got.out)
    assert doc["results"] == [] and doc["errors"][0]["model"] == "models/m.dsl"
    assert doc["errors"][0]["message"] == "internal error: models/m.dsl: RuntimeError: the resolver fell over on two lines"
    usage = run("--json", "--jobs", "none", "models/m.dsl")
    assert usage.rc == 2
    assert json.loads(usage.out)["errors"][0]["message"].startswith("usage: --jobs none")


def test_the_traceback_comes_with_the_debug_variable(project, monkeypatch):
    monkeypatch.setattr(resolve.Resolver, "run", broken)
    monkeypatch.setenv(cli.DEBUG_VARIABLE, "1")
    got = run("models/m.dsl")
    assert got.rc == 4
    first, rest = got.err.split("\n", 1)
    assert first == "objcg-prove: internal error: models/m.dsl: RuntimeError: the resolver fell over on two lines"
    assert rest.startswith("Traceback (most recent call last):") and "in broken" in rest


def test_a_tool_bug_while_checking_names_the_model_being_checked(project, monkeypatch):
    (project / "models" / "other.dsl").write_text(PROVED.lstrip("\n"), encoding="utf-8")
    calls = []

    def check(self, prop):   # fails on the second model only
        calls.append(self.prog.path)
        if self.prog.path == "models/other.dsl":
            raise KeyError("k")
        return original(self, prop)

    original = verify.ModelChecker.check
    monkeypatch.setattr(verify.ModelChecker, "check", check)
    got = run("models/m.dsl", "models/other.dsl")
    assert got.rc == 4 and got.err == "objcg-prove: internal error: models/other.dsl: KeyError: 'k'\n"
    assert "models/m.dsl" in calls


def test_a_tool_bug_outside_any_model_is_blamed_on_the_command_line(project, monkeypatch):
    monkeypatch.setattr(gate, "junit_xml", broken)
    got = run("check", "--junit", "out.xml", "models/m.dsl")
    assert got.rc == 4
    assert got.err.endswith("objcg-prove: internal error: <command line>: RuntimeError: the resolver fell over on two lines\n")
    assert not (project / "out.xml").exists()


def test_user_errors_stay_exit_2(project):
    (project / "models" / "bad.dsl").write_text("thread T { word v = nope; }\n", encoding="utf-8")
    for argv in (["models/bad.dsl"], ["simulate", "models/bad.dsl"], ["export", "models/bad.dsl"]):
        got = run(*argv)
        assert got.rc == 2 and got.err.startswith("models/bad.dsl:1:21: error: unknown name 'nope'"), (argv, got.err)


@pytest.mark.parametrize("where", [(simulate_command, "simulate"), (export_command, "export_path")], ids=["simulate", "export"])
def test_ctrl_c_in_process_is_one_line_and_130(project, monkeypatch, where):
    def interrupt(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(*where, interrupt)
    got = run(where[1].split("_")[0], "models/m.dsl")
    assert (got.rc, got.err) == (130, "objcg-prove: interrupted\n")


def test_a_ctrl_c_that_z3_catches_is_an_interrupt_not_an_unknown_verdict():
    # z3 catches SIGINT while it solves and answers unknown; that must not become a verdict
    class Interrupted:
        def check(self, *assumptions: object) -> z3.CheckSatResult:
            return z3.unknown

        def reason_unknown(self) -> str:
            return "interrupted from keyboard"

    with pytest.raises(KeyboardInterrupt):
        solver._ask(Interrupted(), solver.SolverOptions(), [])  # type: ignore[arg-type]


# ---- Ctrl-C and stopped workers, on a real process ------------------------------------------


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def workers_of(pid: int) -> list[int]:
    out = []
    for child in children(pid):
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                out.append(child)
        except OSError:
            pass
    return out


def gone(pids: list[int], within: float = 15.0) -> bool:
    """Whether every process of `pids` has ended (or is a zombie), waiting up to `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        alive = []
        for pid in pids:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":
                alive.append(pid)
        if not alive:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def start(*argv: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """`python -m objcg_proof ARGV` in a session of its own (as on a terminal: Ctrl-C reaches its
    process group), with SIGINT handled as a shell would leave it."""
    return subprocess.Popen([sys.executable, "-m", "objcg_proof", *argv], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
                            preexec_fn=lambda: (os.setsid(), signal.signal(signal.SIGINT, signal.SIG_DFL)))


def wait_for_workers(proc: subprocess.Popen[str], n: int) -> list[int]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        found = workers_of(proc.pid)
        if len(found) >= n:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no {n} worker processes appeared (exit {proc.poll()})")


@pytest.mark.parametrize("jobs, group", [("1", False), ("2", False), ("2", True)],
                         ids=["serial", "jobs-parent-only", "jobs-process-group"])
def test_ctrl_c_is_one_line_exit_130_and_ends_every_worker(jobs, group):
    proc = start(V3, "--jobs", jobs)
    try:
        if jobs == "1":
            time.sleep(1.0)
        else:
            wait_for_workers(proc, 2)
            time.sleep(0.5)
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    spawned = interrupted(proc, group)
    if jobs == "2":
        assert len(spawned) >= 2


def interrupted(proc: subprocess.Popen[str], group: bool) -> list[int]:
    """Ctrl-C `proc` (while it still runs): to it alone, or to its process group as a terminal
    does. It must exit 130 with one line, and every process it had started must end; those."""
    try:
        assert proc.poll() is None, "the model finished before it could be interrupted"
        spawned = children(proc.pid)
        if group:   # Ctrl-C on a terminal reaches every process of the group, workers too
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert err == "objcg-prove: interrupted\n"
    assert "Traceback" not in out
    assert gone(spawned), [p for p in spawned if Path(f"/proc/{p}").exists()]
    return spawned


@pytest.mark.parametrize("group", [False, True], ids=["parent-only", "process-group"])
def test_ctrl_c_with_scheduler_local_ends_the_cluster(group):
    # runner/dask_pool.py: the pending tasks cancelled, the client closed, the local workers ended
    pytest.importorskip("distributed")
    proc = start(V3, "--scheduler", "local:2")
    try:
        wait_for_workers(proc, 2)
        time.sleep(3.0)   # the cluster up, the tasks out
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    assert len(interrupted(proc, group)) >= 2


def stoppable_check(ob: Obligation) -> batch.Answer:
    """Runs in a worker: on `count`, says where it runs (the file `pid`) and works for a while."""
    if ob.name == "count":
        Path("pid.tmp").write_text(str(os.getpid()))
        os.replace("pid.tmp", "pid")
        time.sleep(60)
    return batch.check_obligation(ob)


@pytest.fixture
def short_grace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """m.dsl in the current directory; a grace period of 1 s."""
    monkeypatch.chdir(tmp_path)
    Path("m.dsl").write_text(PROVED.lstrip("\n"), encoding="utf-8")
    monkeypatch.setenv(workers.GRACE_VARIABLE, "1")


def test_a_stopped_worker_is_an_internal_error_after_the_grace_period(short_grace, monkeypatch):
    monkeypatch.setattr(cli, "verify_models", lambda paths, options, jobs, progress, scheduler=None, log=False:
                        run_obligations(paths, options, jobs, progress, stoppable_check))
    got: list[CliRun] = []
    command = threading.Thread(target=lambda: got.append(run("m.dsl", "--jobs", "2")))
    command.start()
    stopped = None
    try:
        deadline = time.monotonic() + 60
        while not Path("pid").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        stopped = int(Path("pid").read_text())
        os.kill(stopped, signal.SIGSTOP)
        command.join(timeout=60)
    finally:
        if stopped is not None and not gone([stopped], within=0):
            os.kill(stopped, signal.SIGKILL)   # the test failed: leave nothing behind
    assert not command.is_alive() and got
    assert got[0].rc == 4, got[0].err
    assert got[0].err == ("objcg-prove: internal error: checking count of m.dsl: a worker process stopped answering "
                          "(no sign of life for 1 s: stopped, or the machine is overloaded); it was ended\n")
    assert gone([stopped], within=5)   # the stopped worker was ended, not left behind
    # the property the stopped worker had gets no verdict; the others keep theirs
    assert not any(line.split()[:1] == ["count"] for line in got[0].out.splitlines()), got[0].out


def slow_check(ob: Obligation) -> batch.Answer:
    """Runs in a worker: a slow (but live) worker, busy longer than the grace period."""
    time.sleep(2.5)
    return batch.check_obligation(ob)


def test_a_slow_but_live_worker_is_waited_for(short_grace):
    outcome, = run_obligations(["m.dsl"], VerifyOptions(), 2, None, slow_check)
    assert outcome.worker_errors == []
    assert outcome.result is not None and [p.status for p in outcome.result.properties] == ["proved"] * 3


def test_the_grace_period_variable(monkeypatch):
    monkeypatch.delenv(workers.GRACE_VARIABLE, raising=False)
    assert workers.worker_grace_s() == workers.WORKER_GRACE_S
    for text, want in [("2.5", 2.5), ("0", workers.WORKER_GRACE_S), ("x", workers.WORKER_GRACE_S),
                       ("nan", workers.WORKER_GRACE_S), ("inf", workers.WORKER_GRACE_S)]:
        monkeypatch.setenv(workers.GRACE_VARIABLE, text)
        assert workers.worker_grace_s() == want, text


def test_time_the_parent_spent_stopped_is_not_silence(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(workers.time, "monotonic", lambda: now[0])
    clock = workers._AwakeClock()
    now[0] += 0.25
    assert clock.tick() == 0.25
    now[0] += 600   # the parent was stopped (Ctrl-Z) for ten minutes
    assert clock.tick() == 1.25


# ---- a failed worker in the gate and in compare ----------------------------------------------


def failing_check(ob: Obligation) -> batch.Answer:
    """Runs in a worker: fails on the property `count`."""
    if ob.name == "count":
        raise RuntimeError("the encoder fell over")
    return batch.check_obligation(ob)


def failing_verify_models(paths, options, jobs=1, progress=None, scheduler=None, log=False):  # type: ignore[no-untyped-def]
    return run_obligations(paths, options, 2, progress, failing_check)


def test_a_failed_worker_never_passes_the_gate(project, monkeypatch):
    monkeypatch.setattr(gate, "verify_models", failing_verify_models)
    got = run("check", "--no-cache", "--json", "models/m.dsl")
    assert got.rc == 4, (got.out, got.err)
    assert got.err == "objcg-prove: internal error: checking count of models/m.dsl failed in a worker process: " \
                      "RuntimeError: the encoder fell over\n"


def test_a_failed_worker_gives_compare_no_row(project, monkeypatch):
    monkeypatch.setattr(compare, "verify_models", failing_verify_models)
    got = run("compare", "models/m.dsl")
    assert got.rc == 4, (got.out, got.err)
    assert got.err == "objcg-prove: internal error: checking count of models/m.dsl failed in a worker process: " \
                      "RuntimeError: the encoder fell over\n"


def test_a_worker_that_died_while_idle_is_replaced(short_grace):
    ob = Obligation("m.dsl", VerifyOptions(), 0, "uaf")
    worker = workers._Worker(batch.check_obligation)
    try:
        for attempt in range(2):
            worker.give(attempt, ob, 0.0)
            reply = None
            while reply is None:
                multiprocessing.connection.wait(worker.waitables(), timeout=1)
                reply = worker.reply(0.0, 3600)
            assert isinstance(reply, workers._Done) and reply.answer.result.status == "proved", (attempt, reply)
            process = worker._process
            assert process is not None
            os.kill(process.pid, signal.SIGKILL)   # it dies while it waits for the next obligation
            process.join(timeout=10)   # ... and is gone by the time it is given one (all its threads)
            assert not process.is_alive()
    finally:
        worker.kill()


def test_output_read_by_head_ends_quietly(tmp_path):
    model = tmp_path / "spin.dsl"
    model.write_text("shared word x = 0;\nthread A { while (1) { x = 1; } }\n", encoding="utf-8")
    proc = start("simulate", "--steps", "100000", str(model))
    assert proc.stdout is not None and proc.stdout.readline().split()[:2] == ["1", "A"]
    proc.stdout.close()   # as `| head -1` does
    proc.wait(timeout=60)
    assert proc.returncode == 141
    assert proc.stderr is not None and proc.stderr.read() == ""
