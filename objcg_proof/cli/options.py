"""Command-line plumbing shared by every command (`cli.SUBCOMMANDS` and the prover itself).

`CommandParser` is an argparse parser that raises instead of exiting, so commands stay
functions `(argv, stdout, stderr) -> exit status` that tests call in-process: bad usage raises
`UsageError` (the command prints it with its usage line and returns 2), `--help` and `--version`
print to the command's stdout and raise `Exit`. Below it, the parsers of the options several
commands take (`-D NAME=VALUE`, `--bound K`, counts such as `--jobs N`). No z3 here: the Promela
exporter uses this module too.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import re
import sys
from typing import TextIO


class UsageError(Exception):
    """Bad usage of a command: printed with the command's usage line, exit status 2."""


class Exit(Exception):
    """--help or --version finished: return this status instead of calling sys.exit()."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class CommandParser(argparse.ArgumentParser):
    out: TextIO | None = None   # where --help and --version print (the command's stdout)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        if message:
            self._print_message(message)
        raise Exit(status)

    def _print_message(self, message: str, file: TextIO | None = None) -> None:  # type: ignore[override]
        if message:
            (self.out or file or sys.stdout).write(message)


# NOTE(define-values): a -D value is plain ASCII decimal (no leading 0) or 0x hex, nothing else:
# no sign, no '_', no 0o/0b, no spaces, no other scripts' digits (Python's int() takes all of
# those). Whether it fits the model's word width is only known once the model's `width` is:
# lang/constants.py checks that and names the param and the width.
_DECIMAL = re.compile(r"0|[1-9][0-9]*", re.ASCII)
_HEX = re.compile(r"0[xX][0-9a-fA-F]+", re.ASCII)
MAX_DIGITS = 40   # more than any 64-bit word needs in decimal or hex

# z3 takes its per-query `timeout` (milliseconds) and `rlimit` as unsigned 32-bit numbers and
# silently wraps larger ones (4294967.297 s would become 1 ms): larger values are refused here.
Z3_UINT_MAX = (1 << 32) - 1
MAX_TIMEOUT_S = Z3_UINT_MAX / 1000


def parse_defines(items: list[str]) -> tuple[tuple[str, int], ...]:
    """`-D NAME=VALUE` options: VALUE is ASCII decimal or 0x hex (NOTE(define-values))."""
    out = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.isidentifier() or not name.isascii():
            raise UsageError(f"-D {item}: expected NAME=VALUE, as in -D ALLOCS=3")
        number = _number(value, hex_ok=True)
        if number is None:
            raise UsageError(f"-D {item}: '{value}' is not an integer (expected decimal digits, as in 3, "
                             "or 0x and hex digits, as in 0x10)")
        out.append((name, number))
    return tuple(out)


def _number(text: str, hex_ok: bool) -> int | None:
    """`text` as plain ASCII decimal (or 0x hex when `hex_ok`); None if it is anything else."""
    if len(text) > MAX_DIGITS:
        return None
    if _DECIMAL.fullmatch(text):
        return int(text, 10)
    if hex_ok and _HEX.fullmatch(text):
        return int(text, 16)
    return None


def positive_int(option: str, text: str, base: int, too_small: str) -> int:
    """An option's value that must be an integer of at least 1 (`too_small` says why); base 0
    takes decimal or 0x hex, base 10 decimal only; ASCII digits, nothing else."""
    n = _number(text.removeprefix("-"), hex_ok=base == 0)
    if n is not None and text.startswith("-"):
        n = -n
    if n is None:
        raise UsageError(f"{option} {text}: expected a positive integer")
    if n < 1:
        raise UsageError(f"{option} {n}: {too_small}")
    return n


def parse_bound(text: str | None) -> int | None:
    """`--bound K` (None when not given: the model's own bound applies)."""
    return None if text is None else positive_int("--bound", text, 0, "the bound must be at least 1")


MEMORY_MODEL_HELP = ("sc: sequential consistency; lkmm: the Linux-kernel memory model (docs/lkmm.md); "
                     "default: the model's `memory_model` declaration, else sc")


def add_memory_model_option(parser: argparse.ArgumentParser, help: str = MEMORY_MODEL_HELP) -> None:
    """--memory-model sc|lkmm (None when not given: the model's declaration decides)."""
    parser.add_argument("--memory-model", choices=("sc", "lkmm"), default=None, help=help)


def add_html_option(parser: argparse.ArgumentParser) -> None:
    """--html DIR: the report for a browser (NOTE(html-report) in cli/html_report.py)."""
    parser.add_argument("--html", metavar="DIR", default=None,
                        help="also write a static report for a browser, DIR/index.html: verdict tables, "
                             "counterexamples as swimlanes, execution graphs")


def sc_only(command: str, memory_model: str | None, why: str) -> None:
    """A command that runs sequential consistency only (`simulate`, `export`): --memory-model lkmm
    is a UsageError that says why and what to run instead."""
    if memory_model not in (None, "sc"):
        raise UsageError(f"--memory-model {memory_model}: {command} {why}; the LKMM's verdicts and counterexamples "
                         "come from `objcg-prove --memory-model lkmm MODEL` (with --dot DIR for execution graphs)")


def add_jobs_option(parser: argparse.ArgumentParser,
                    help: str = "check this many properties at once, in worker processes (default 1)") -> None:
    parser.add_argument("--jobs", "-j", type=str, default="1", metavar="N", help=help)


def parse_jobs(text: str) -> int:
    return positive_int("--jobs", text, 10, "expected at least 1 worker process")


def add_scheduler_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="check the properties on a Dask cluster: a scheduler's address (tcp://HOST:8786), or "
                             "local:N for N worker processes on this machine (needs pip install 'objcg-prove[dask]')")


def parse_scheduler(address: str | None, jobs: int) -> str | None:
    """`--scheduler ADDRESS`: `local:N` (N a positive decimal) or any other address, which is
    only known to be good once connected (runner/dask_pool.py); not with --jobs > 1; Dask
    distributed must be installed (looked for, not imported: that waits for the run)."""
    if address is None:
        return None
    if jobs > 1:
        raise UsageError(f"--scheduler and --jobs {jobs}: choose one (local:N runs N workers on this machine)")
    if not address.strip():
        raise UsageError("--scheduler: expected an address, as in tcp://HOST:8786, or local:N")
    if address.startswith("local:") and not re.fullmatch(r"[1-9][0-9]{0,3}", address.removeprefix("local:"), re.ASCII):
        raise UsageError(f"--scheduler {address}: expected local:N, N worker processes (1 to 9999), as in local:2")
    if importlib.util.find_spec("distributed") is None:
        raise UsageError("--scheduler needs Dask distributed, which is not installed: pip install 'objcg-prove[dask]'")
    return address


def parse_timeout(seconds: float) -> float:
    """`--timeout S`: finite, positive and at most what z3's millisecond limit holds."""
    if not math.isfinite(seconds) or seconds <= 0:
        raise UsageError(f"--timeout {seconds:.10g}: expected a positive number of seconds")
    if seconds > MAX_TIMEOUT_S:
        raise UsageError(f"--timeout {seconds:.10g}: the solver's limit is at most {MAX_TIMEOUT_S} seconds")
    return seconds


def parse_rlimit(text: str) -> int:
    """`--rlimit N`: z3's resource limit per query, 0 (none) up to an unsigned 32-bit number
    (an argparse `type`: the UsageError it raises leaves parse_args as the command's own)."""
    n = _number(text, hex_ok=False)
    if n is None:
        raise UsageError(f"--rlimit {text}: expected a whole number (0: no limit)")
    if n > Z3_UINT_MAX:
        raise UsageError(f"--rlimit {n}: expected 0 (no limit) to {Z3_UINT_MAX}")
    return n
