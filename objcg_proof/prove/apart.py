"""Work in a process of its own: a function run in a forked child, what it sends read back in order.

NOTE(apart): past its memory limit z3 may end the process with a C++ `terminate` instead of
raising its out-of-memory error (z3/z3#10250 and #1948: its cleanup after a memory trip throws
where nothing catches it), and the kernel's OOM killer ends a process that grows past the
machine. Either way a whole run ended without a word, and every verdict already found with it
(objcg_v4's default scenario at the marked level, alone at 12 GB; NOTE(marked-size) in
prove/lkmm_clocks.py). Work run here ends only its child: the parent keeps what the child sent
before it ended and learns how it ended (`Ended`). A child's memory, z3's count of it included,
goes back to the system with it (in one process z3 keeps counting what it once took:
NOTE(memory-limit) in prove/solver.py).

The child is forked (a copy of the parent, the model and its encodings included, nothing to
send), so work runs apart only where `available()`: os.fork exists and the process has one
thread (forking a threaded process may copy a lock another thread holds). What the child sends
is pickled; an exception it raises is sent too and raised again in the parent, so a bug in the
work is still a bug, never an `unknown`.
"""

from __future__ import annotations

import faulthandler
import os
import pickle
import signal
import sys
import threading
import traceback
from dataclasses import dataclass
from typing import Any, Callable

_RAISED = "apart: raised"   # the tag of an exception the work raised
_in_child = False


@dataclass(frozen=True)
class Ended:
    """How a child ended: `how` is "" when it returned, else what ended it, in words."""

    how: str
    killed: bool   # by a signal or an abort: z3's terminate, the OOM killer, a kill


def in_child() -> bool:
    """Whether this process is a child run_apart started: its ending ends only itself."""
    return _in_child


def available() -> bool:
    """Whether work can run apart here (NOTE(apart))."""
    return hasattr(os, "fork") and threading.active_count() == 1


def run_apart(work: Callable[[Callable[[Any], None]], None]) -> tuple[list[Any], Ended]:
    """Run `work(send)` in a forked child (NOTE(apart)): every object it passed to `send`, in
    order, and how it ended. An exception the work raised is raised here."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()   # or the child would write the parent's buffered text again
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:   # the child: never returns
        os.close(read_end)
        _child(work, os.fdopen(write_end, "wb"))
    os.close(write_end)
    sent: list[Any] = []
    try:
        with os.fdopen(read_end, "rb") as inp:
            while True:
                try:
                    sent.append(pickle.load(inp))
                except EOFError:
                    break
                except pickle.UnpicklingError:   # cut short: the child ended mid-object
                    break
    except BaseException:
        _end(pid)   # Ctrl-C, or anything else here: the child must not outlive the parent
        raise
    _, status = os.waitpid(pid, 0)
    if sent and isinstance(sent[-1], tuple) and len(sent[-1]) == 2 and sent[-1][0] == _RAISED:
        raise sent[-1][1]
    return sent, _ended(status)


def _child(work: Callable[[Callable[[Any], None]], None], out: Any) -> None:
    global _in_child
    _in_child = True
    faulthandler.disable()   # z3's abort is the parent's to tell (`Ended`), not a Python stack dump
    code = 0
    try:
        def send(obj: Any) -> None:
            pickle.dump(obj, out)
            out.flush()
        work(send)
    except BaseException as exc:   # the parent raises it again
        code = 1
        try:
            pickle.dumps(exc)
        except Exception:
            exc = RuntimeError("".join(traceback.format_exception(exc)))
        try:
            pickle.dump((_RAISED, exc), out)
            out.flush()
        except BaseException:
            pass
    finally:
        os._exit(code)   # no cleanup of the parent's copies: its files, its atexit hooks


def _end(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except OSError:
        pass


def _ended(status: int) -> Ended:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        why = {signal.SIGABRT: "it aborted (z3 ends a process so when it runs out of memory while cleaning up)",
               signal.SIGKILL: "it was killed (the kernel's OOM killer ends the largest process so)"}
        return Ended(f"the process was ended by {name}: {why.get(sig, 'a signal')}", True)
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
    return Ended("" if code == 0 else f"the process exited with status {code}", code != 0)
