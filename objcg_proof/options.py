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


def parse_defines(items: list[str]) -> tuple[tuple[str, int], ...]:
    """`-D NAME=VALUE` options (VALUE in any base Python reads: 3, 0x10)."""
    out = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.isidentifier():
            raise UsageError(f"-D {item}: expected NAME=VALUE, as in -D ALLOCS=3")
        try:
            out.append((name, int(value, 0)))
        except ValueError:
            raise UsageError(f"-D {item}: '{value}' is not an integer") from None
    return tuple(out)


def positive_int(option: str, text: str, base: int, too_small: str) -> int:
    """An option's value that must be an integer of at least 1 (`too_small` says why)."""
    try:
        n = int(text, base)
    except ValueError:
        raise UsageError(f"{option} {text}: expected a positive integer") from None
    if n < 1:
        raise UsageError(f"{option} {n}: {too_small}")
    return n


def parse_bound(text: str | None) -> int | None:
    """`--bound K` (None when not given: the model's own bound applies)."""
    return None if text is None else positive_int("--bound", text, 0, "the bound must be at least 1")


def add_jobs_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--jobs", "-j", type=str, default="1", metavar="N",
                        help="check this many properties at once, in worker processes (default 1)")


def parse_jobs(text: str) -> int:
    return positive_int("--jobs", text, 10, "expected at least 1 worker process")


def parse_timeout(seconds: float) -> float:
    if seconds <= 0:
        raise UsageError(f"--timeout {seconds:g}: expected a positive number of seconds")
    return seconds
