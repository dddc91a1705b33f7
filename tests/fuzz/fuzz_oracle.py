"""The fuzzer's oracle (tests/fuzz/test_fuzz.py, scripts/fuzz.py): run a `fuzz_inputs.Case` through
`objcg_proof.cli.main(argv, stdout, stderr)` and say what is wrong with the outcome.

Cases run in one worker process (`Worker`, started as `python3 tests/fuzz/fuzz_oracle.py --serve`)
that imports the prover once and runs one case at a time in a fresh directory (its working
directory for the run), with StringIO streams. The worker's address space is limited
(`MEMORY_LIMIT`), and the parent kills and restarts it when a case takes longer than the
per-case limit, so neither a hang nor a runaway allocation stops the run: both are findings.

`findings(case, outcome)` is the oracle: no exception out of main, no traceback in the output,
exit status 0..3 (4, an internal error, is a finding), every error line located
(`file:line:col: error:`; usage errors `objcg-prove: error:` and `<command line>` errors of a
command line with -D excepted), the caret's line is the file's line by '\\n', output files and
--json output are valid XML / JSON, and a command-line value that must be refused is (exit 2).
`minimise` shrinks a case's subject file (lines, then characters) keeping its finding.
"""

from __future__ import annotations

import io
import json
import mmap
import os
import pickle
import re
import resource
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fuzz_inputs import GATE_MODEL, Case  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
MEMORY_LIMIT = 2 << 30          # bytes of address space for the worker
RESTART_EVERY = 300             # cases; keeps the worker's memory (z3 contexts, caches) small
OUTPUT_LIMIT = 1 << 20          # characters of stdout and stderr kept (--json output is parsed whole)
STAGE_BYTES = 32
GRACE_S = 3.0                   # after the time limit, how long a worker may take to stop a case
STAGES = (("lang.parser", "load_model", "parse"), ("lang.resolve", "resolve", "resolve"),
          ("prove.unroll", "unroll", "unroll"), ("prove.encode", "encode", "encode"),
          ("oracles.interpret", "simulate", "simulate"), ("oracles.interpret", "replay", "replay"),
          ("oracles.promela", "to_promela", "promela"))


@dataclass
class Outcome:
    status: int | None = None            # None: an exception escaped main, or the worker died
    stdout: str = ""
    stderr: str = ""
    exception: str = ""                   # type name of what escaped main
    message: str = ""
    where: str = ""                       # innermost objcg_proof frame: module.function
    trace: str = ""                       # the traceback
    stage: str = "start"                  # the last stage the run entered (parse, resolve, ...)
    seconds: float = 0.0
    died: str = ""                        # "hang" (killed after the limit) or how the worker died
    outputs: dict[str, bytes | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    kind: str      # exception, traceback, internal-error, bad-status, no-location, caret, hang, crash, ...
    key: str       # what two findings must share to be the same: kind, type, place, message shape
    detail: str    # one line for the reader


# ---- the worker side --------------------------------------------------------------------------


class Stage:
    """The last stage a run entered; also written to a file the parent reads when it has to kill
    the worker (a case stuck in native code never answers)."""

    def __init__(self, path: str | None) -> None:
        self.name = "start"
        self.board = None
        if path:
            with open(path, "r+b") as f:
                self.board = mmap.mmap(f.fileno(), STAGE_BYTES)

    def set(self, name: str) -> None:
        self.name = name
        if self.board is not None:
            self.board[:] = name.encode()[:STAGE_BYTES].ljust(STAGE_BYTES)


def _instrument(stage: Stage) -> None:
    """Record the last stage entered: wrap each stage's entry function wherever it was imported."""
    import importlib

    import objcg_proof.prove.solver as solver_mod
    for module_name in ("cli.dispatch", "runner.batch", "prove.verify", "cli.gate", "oracles.interpret", "oracles.promela",
                        "study.mutate", "study.compare", "gate.ledger"):
        importlib.import_module(f"objcg_proof.{module_name}")
    for module_name, func, name in STAGES:
        module = sys.modules[f"objcg_proof.{module_name}"]
        original = getattr(module, func, None)
        if original is None:
            continue

        def wrapper(*args: Any, __f: Callable[..., Any] = original, __n: str = name, **kwargs: Any) -> Any:
            stage.set(__n)
            return __f(*args, **kwargs)

        for mod in [m for n, m in sys.modules.items() if n.startswith("objcg_proof")]:
            for attr, value in list(vars(mod).items()):
                if value is original:
                    setattr(mod, attr, wrapper)
    original_check = solver_mod.Session.check

    def check(self: Any, *args: Any, **kwargs: Any) -> Any:
        stage.set("solve")
        return original_check(self, *args, **kwargs)

    solver_mod.Session.check = check  # type: ignore[method-assign]


def _materialise(case: Case, directory: Path) -> None:
    for name, data in case.files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    for name, target in case.links.items():
        (directory / name).symlink_to(target)
    for name in case.fifos:
        os.mkfifo(directory / name)


def _where(tb: Any) -> str:
    where = ""
    for frame, _ in traceback.walk_tb(tb):
        module = frame.f_globals.get("__name__", "")
        if module.startswith("objcg_proof"):
            where = f"{module.split('.')[-1]}.{frame.f_code.co_name}"
    return where


class TimeLimit(BaseException):
    """Raised in the worker by SIGUSR1: the parent's time limit for the case has passed."""


_stopped = [False]   # set by the handler: whatever then escapes main (ctypes wraps what a callback
                     # raised in an ArgumentError) is the time limit, not the prover's exception


def _time_limit(signum: int, frame: Any) -> None:
    _stopped[0] = True
    raise TimeLimit()


def run_case(case: Case, main: Callable[..., int], stage: Stage) -> Outcome:
    """Run one case in a fresh directory (this process's working directory for the run)."""
    directory = Path(tempfile.mkdtemp(prefix="objcg-fuzz-"))
    cwd = os.getcwd()
    stdout, stderr = io.StringIO(), io.StringIO()
    out = Outcome()
    stage.set("start")
    _stopped[0] = False
    start = time.perf_counter()
    try:
        _materialise(case, directory)
        os.chdir(directory)
        for setup in case.setup:
            main(list(setup), io.StringIO(), io.StringIO())
        out.status = int(main(list(case.argv), stdout, stderr))
        if _stopped[0]:   # the time limit, wrapped by ctypes and reported by main as a tool bug
            out.died = "hang"
    except BaseException as exc:  # noqa: BLE001 - anything that escapes main is what we look for
        if isinstance(exc, TimeLimit) or _stopped[0]:
            out.died = "hang"
        else:
            out.exception, out.message = type(exc).__name__, str(exc)[:500]
        out.where = _where(exc.__traceback__)
        out.trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[-4000:]
    finally:
        os.chdir(cwd)
        out.seconds = time.perf_counter() - start
        out.stage = stage.name
        out.stdout, out.stderr = stdout.getvalue()[:OUTPUT_LIMIT], stderr.getvalue()[:OUTPUT_LIMIT]
        for name in case.outputs:
            path = directory / name
            out.outputs[name] = path.read_bytes() if path.is_file() else None
        shutil.rmtree(directory, ignore_errors=True)
    return out


def gate_seed(main: Callable[..., int]) -> dict[str, bytes]:
    """counter.dsl with its ledger record and a filled cache: what `gate` cases corrupt."""
    files = {GATE_MODEL: (ROOT / GATE_MODEL).read_bytes(),
             f"proofs/{GATE_MODEL}.json": (ROOT / "proofs" / f"{GATE_MODEL}.json").read_bytes()}
    directory = Path(tempfile.mkdtemp(prefix="objcg-fuzz-seed-"))
    cwd = os.getcwd()
    try:
        _materialise(Case("gate", "seed", files, [], GATE_MODEL), directory)
        os.chdir(directory)
        main(["check", "--ledger", "proofs", "--cache-dir", "cache", "--timeout", "2", GATE_MODEL], io.StringIO(), io.StringIO())
        return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}
    finally:
        os.chdir(cwd)
        shutil.rmtree(directory, ignore_errors=True)


def _send(stream: Any, value: Any) -> None:
    data = pickle.dumps(value)
    stream.write(struct.pack("<Q", len(data)) + data)
    stream.flush()


def _read_exactly(stream: Any, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def serve() -> None:
    """The worker: read requests (pickled) on stdin, answer on the original stdout."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)   # stray prints must not corrupt the answers
    requests = os.fdopen(os.dup(0), "rb")
    from objcg_proof.cli.dispatch import main

    stage = Stage(os.environ.get("OBJCG_FUZZ_STAGE"))
    _instrument(stage)
    signal.signal(signal.SIGUSR1, _time_limit)
    while True:
        try:
            (length,) = struct.unpack("<Q", _read_exactly(requests, 8))
            kind, payload = pickle.loads(_read_exactly(requests, length))
        except EOFError:
            return
        _send(answers, gate_seed(main) if kind == "gate_seed" else run_case(payload, main, stage))


# ---- the parent side ----------------------------------------------------------------------------


class Worker:
    """One worker process; `run` gives an Outcome whatever the case does to the worker."""

    def __init__(self, limit_s: float) -> None:
        self.limit_s = limit_s
        self.proc: subprocess.Popen[bytes] | None = None
        self.done = 0
        fd, self.stage_file = tempfile.mkstemp(prefix="objcg-fuzz-stage-")
        os.write(fd, b" " * STAGE_BYTES)
        os.close(fd)

    def last_stage(self) -> str:
        try:
            return Path(self.stage_file).read_bytes().decode(errors="replace").strip() or "?"
        except OSError:
            return "?"

    def _start(self) -> subprocess.Popen[bytes]:
        if self.proc is None:
            env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONHASHSEED="0", OBJCG_FUZZ_STAGE=self.stage_file)
            self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--serve"], env=env,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                         cwd=str(ROOT))
            self.done = 0
        return self.proc

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            for stream in (self.proc.stdin, self.proc.stdout):
                if stream is not None:
                    stream.close()
            self.proc = None

    def close(self) -> None:
        self.stop()
        Path(self.stage_file).unlink(missing_ok=True)

    def __enter__(self) -> "Worker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ask(self, kind: str, payload: Any, limit_s: float) -> Any:
        """The answer, or a string saying why there is none (the worker is then stopped)."""
        proc = self._start()
        assert proc.stdin is not None and proc.stdout is not None
        try:
            _send(proc.stdin, (kind, payload))
        except BrokenPipeError:
            self.stop()
            return "the worker died before the case started"
        deadline = time.monotonic() + limit_s
        data = b""
        need = 8
        fd = proc.stdout.fileno()
        interrupted = False
        while len(data) < need:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                if interrupted:
                    self.stop()
                    return "hang"
                # ask the worker to stop the case where it is (its answer says where), then wait
                # a little for a worker stuck in native code before killing it
                interrupted = True
                proc.send_signal(signal.SIGUSR1)
                deadline = time.monotonic() + GRACE_S
                continue
            chunk = os.read(fd, max(need - len(data), 1 << 16))
            if not chunk:
                code = proc.wait()
                self.stop()
                return f"the worker died ({'signal ' + signal.Signals(-code).name if code < 0 else 'exit ' + str(code)})"
            data += chunk
            if need == 8 and len(data) >= 8:
                need = 8 + struct.unpack("<Q", data[:8])[0]
        self.done += 1
        answer = pickle.loads(data[8:need])
        if self.done >= RESTART_EVERY or interrupted or getattr(answer, "exception", "") in ("MemoryError", "RecursionError"):
            self.stop()   # a fresh worker for the next case: nothing left over from this one
        return answer

    def gate_seed(self) -> dict[str, bytes]:
        answer = self._ask("gate_seed", None, 120)
        if isinstance(answer, str):
            raise RuntimeError(f"could not prepare the cache and ledger cases: {answer}")
        return answer  # type: ignore[no-any-return]

    def run(self, case: Case) -> Outcome:
        start = time.perf_counter()
        answer = self._ask("case", case, self.limit_s)
        if isinstance(answer, str):
            return Outcome(died=answer, seconds=time.perf_counter() - start, stage=self.last_stage())
        return answer  # type: ignore[no-any-return]


# ---- the oracle ---------------------------------------------------------------------------------

LOCATED = re.compile(r"^(?P<file>[^\s:][^:]*):(?P<line>\d+):(?P<col>\d+): error: ")
ERROR = re.compile(r"^(?P<who>.*?): (internal )?error: (?P<message>.*)$")


def shape(message: str) -> str:
    """A message with its particulars blanked, so one bug gives one key."""
    message = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", message)
    message = re.sub(r"objcg-fuzz-[\w]+", "DIR", message)
    return re.sub(r"\d+", "N", message)[:120]


_ONE_COLUMN = str.maketrans({c: " " for c in [*map(chr, range(32)), "\x7f", "\x85", "\u2028", "\u2029"]})


def _caret_findings(case: Case, lines: list[str]) -> list[Finding]:
    """A located error's quoted line must be that line of the file, counting only '\\n'."""
    out = []
    for i, head in enumerate(lines):
        m = LOCATED.match(head)
        if not m:
            continue
        data = case.files.get(m["file"])
        if data is None:
            continue
        text = data.decode("utf-8", "replace").split("\n")
        number = int(m["line"])
        if not 1 <= number <= len(text):
            continue
        shown = lines[i + 1][4:] if i + 1 < len(lines) and lines[i + 1].startswith("    ") and not lines[i + 1].startswith("    note:") else None
        # the caret line shows every control character (and U+0085, U+2028, U+2029) as one
        # space (NOTE(lines) in objcg_proof/diagnostics.py)
        want = text[number - 1].rstrip("\r\n").translate(_ONE_COLUMN)
        if shown is None:
            if want.strip():
                out.append(Finding("caret", "caret: no source line", f"{head} (no source line shown)"))
        elif shown.rstrip() != want.rstrip() and "\ufffd" not in want:
            out.append(Finding("caret", "caret: wrong source line", f"{head} shows {shown[:60]!r}, line {number} is {want[:60]!r}"))
    return out


def findings(case: Case, out: Outcome) -> list[Finding]:
    """What is wrong with `out` (empty: nothing)."""
    if out.died:
        kind = "hang" if out.died == "hang" else "crash"
        return [Finding(kind, f"{kind} in {out.stage}",
                        f"{out.died} after {out.seconds:.1f}s ({case.mode()}), at {out.where or 'native code'}")]
    if out.exception:
        kind = "memory" if out.exception == "MemoryError" else "exception"
        return [Finding(kind, f"{out.exception} at {out.where or '?'}", f"{out.exception}: {out.message[:200]}")]
    found: list[Finding] = []
    text = out.stdout + "\n" + out.stderr
    if "Traceback (most recent call last)" in text:
        found.append(Finding("traceback", "traceback in the output", "a traceback was printed"))
    if out.status not in (0, 1, 2, 3):
        first = next((line for line in out.stderr.splitlines() if "error" in line), "")
        found.append(Finding("internal-error" if out.status == 4 else "bad-status",
                             f"exit {out.status}: {shape(first)}", first[:300]))
    if case.expect_status is not None and out.status != case.expect_status:
        found.append(Finding("accepted-bad-option", f"accepted: {case.origin}",
                             f"{case.origin}: exit {out.status}, expected {case.expect_status}"))
    lines = out.stderr.splitlines()
    defines = "-D" in case.argv
    for line in lines:
        m = ERROR.match(line)
        if not m or LOCATED.match(line) or line.startswith("    "):
            continue
        who, message = m["who"], m["message"]
        if who == "objcg-prove":
            continue   # a usage error (the command line), an internal error (its exit status), the gate's own lines
        if who == "<command line>" and defines:
            continue
        found.append(Finding("no-location", f"no location: {shape(message)}", line[:300]))
    found += _caret_findings(case, lines)
    if "--json" in case.argv:
        try:
            json.loads(out.stdout)
        except ValueError as exc:
            found.append(Finding("invalid-output", "--json output is not JSON", f"--json: {exc}"))
    for name in case.outputs:
        data = out.outputs.get(name)
        if data is None:
            continue
        try:
            if name.endswith(".xml"):
                ET.fromstring(data)
            else:
                json.loads(data)
        except (ValueError, ET.ParseError) as exc:
            found.append(Finding("invalid-output", f"{Path(name).suffix} output invalid", f"{name}: {exc}"))
    return found


# ---- minimising a failing case ----------------------------------------------------------------


def _ddmin(parts: list[bytes], keeps: Callable[[list[bytes]], bool], budget: list[int]) -> list[bytes]:
    """Delta debugging by deletion: drop chunks (halves, quarters, ... single parts) while the
    finding stays; `budget` (a one-element list) counts the oracle runs left."""
    n = 2
    while len(parts) >= 2 and budget[0] > 0:
        size = max(1, len(parts) // n)
        removed = False
        start = 0
        while start < len(parts) and budget[0] > 0:
            trial = parts[:start] + parts[start + size:]
            budget[0] -= 1
            if trial and keeps(trial):
                parts = trial
                removed = True
            else:
                start += size
        if not removed:
            if size == 1:
                break
            n = min(len(parts), n * 2)
        else:
            n = max(n - 1, 2)
    return parts


def minimise(case: Case, finding: Finding, worker: Worker, runs: int = 400, hang_limit_s: float = 5.0,
             deadline: float = float("inf")) -> Case:
    """The case shrunk while `worker` still finds `finding` (same key): the subject file first
    (lines, then characters), then each other file (dropped whole if it can be, else shrunk),
    within `runs` oracle runs and before `deadline` (time.monotonic()). A hang is kept when the shrunk case still takes `hang_limit_s`
    (each such try costs that long: give hangs few runs)."""
    budget = [runs]
    probe = worker
    if finding.kind == "hang":
        probe = Worker(hang_limit_s)
    try:
        def keeps(trial: Case) -> bool:
            if time.monotonic() > deadline:
                budget[0] = 0
                return False
            return any(f.key == finding.key for f in findings(trial, probe.run(trial)))

        for name in [case.subject] + [n for n in case.files if n != case.subject]:
            if name != case.subject and budget[0] > 0:
                budget[0] -= 1
                trial = replace(case, files={n: d for n, d in case.files.items() if n != name})
                if keeps(trial):
                    case = trial
                    continue

            def keeps_text(parts: list[bytes], name: str = name) -> bool:
                return keeps(replace(case, files={**case.files, name: b"".join(parts)}))

            lines = _ddmin(case.files[name].splitlines(keepends=True), keeps_text, budget)
            chars = _ddmin([bytes([b]) for b in b"".join(lines)], keeps_text, budget)
            case = replace(case, files={**case.files, name: b"".join(chars)})
    finally:
        if probe is not worker:
            probe.close()
    return case


def reproducer(case: Case, finding: Finding) -> str:
    """The case as a reader reproduces it: each file, the command line, what was found."""
    out = [f"finding: {finding.kind}: {finding.key}", f"detail: {finding.detail}", f"family: {case.family} ({case.origin})",
           "files (run in a directory holding them; non-printable characters shown escaped):"]
    for name, data in case.files.items():
        out.append(f"--- {name} ({len(data)} bytes)")
        out.append(shown(data[:3000]) + (f"... ({len(data)} bytes in all)" if len(data) > 3000 else ""))
    for name, target in case.links.items():
        out.append(f"--- {name} -> {target} (symlink)")
    for name in case.fifos:
        out.append(f"--- {name} (FIFO)")
    out.append("command: objcg-prove " + " ".join(repr(a) if not a.isprintable() or " " in a else a for a in case.argv))
    return "\n".join(out)


def shown(data: bytes) -> str:
    """Text with every byte that is not printable UTF-8 (but newline and tab) escaped."""
    text = data.decode("utf-8", "backslashreplace")
    return "".join(ch if ch in "\n\t" or (ch.isprintable() and ch not in "\u2028\u2029\x85") else
                   ch.encode("unicode_escape").decode() for ch in text)


if __name__ == "__main__" and sys.argv[1:] == ["--serve"]:
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the parent decides when the worker stops
    import fuzz_oracle   # the classes the parent unpickles live in fuzz_oracle, not __main__

    fuzz_oracle.serve()
