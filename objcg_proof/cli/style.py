"""How much a command prints, and in colour or not: `-q`/`-v` and `--color=auto|always|never`.

NOTE(output-style): what each level prints.
- default: every property's verdict line, every counterexample, the tally line.
- `-q` (quiet): only what is not proved: the header of a model with such a property, that
  property's line, no counterexamples, no "wrote" lines; the tally line always. A CI log shows
  what failed and nothing else; the full report is one run without -q away.
- `-v` (verbose): the default, plus a line on stderr as each property is started
  (`objcg-prove: [3/6] models/objcg_v5.dsl leak (412 s so far)`), also when stderr is not a
  terminal: a long run (the LKMM runs take tens of minutes) says in a CI log what it is doing.
  Without -v that line is only drawn on a terminal, rewritten in place (runner/progress.py).
Colour: `--color=auto` (the default) colours only when the output is a terminal, the
environment has no `NO_COLOR` set to a non-empty value (https://no-color.org) and `TERM` is not
`dumb`; `always` and `never` decide alone. Only verdict words are coloured (VIOLATED red and
bold, proved green, BOUNDED/UNKNOWN/VACUOUS yellow), never a column another program might read:
`--json`, JUnit and SARIF outputs have no colour whatever the option says.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from typing import Mapping, TextIO

COLOR_CHOICES = ("auto", "always", "never")

_RESET = "\033[0m"
_CODES = {"violated": "\033[1;31m", "proved": "\033[32m", "bounded": "\033[33m", "unknown": "\033[33m",
          "vacuous": "\033[33m"}


@dataclass(frozen=True)
class OutputStyle:
    """What a command prints (NOTE(output-style)); the default prints everything, uncoloured."""

    color: bool = False
    quiet: bool = False
    verbose: bool = False
    full_trace: bool = False   # every step of a counterexample, not only those that matter (NOTE(narrow-traces))

    def progress(self, stream: TextIO) -> TextIO | None:
        """Where the verifier's progress goes (runner/progress.py): nowhere with -q."""
        return None if self.quiet else stream

    def paint(self, text: str, status: str) -> str:
        """`text` in the colour of the verdict `status` (proved, violated, ...), when colouring."""
        code = _CODES.get(status)
        return f"{code}{text}{_RESET}" if self.color and code else text


PLAIN = OutputStyle()


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """-q/--quiet, -v/--verbose (one of them) and --color WHEN."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-q", "--quiet", action="store_true",
                       help="print only what is not proved, no counterexamples, and the tally line")
    group.add_argument("-v", "--verbose", action="store_true",
                       help="also say on stderr which property is being checked, also off a terminal")
    parser.add_argument("--full-trace", action="store_true",
                        help="print every step of a counterexample, not only the steps its violation depends on")
    parser.add_argument("--color", "--colour", choices=COLOR_CHOICES, default="auto", metavar="WHEN",
                        help="colour the verdicts: auto (on a terminal, unless NO_COLOR is set), always, never")


def wants_color(when: str, stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """--color WHEN for output written to `stream` (NOTE(output-style))."""
    if when == "always":
        return True
    if when == "never":
        return False
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR", "") != "" or env.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty is not None and isatty())
    except (OSError, ValueError):
        return False


def output_style(args: argparse.Namespace, stream: TextIO, as_json: bool = False) -> OutputStyle:
    """The OutputStyle of parsed output options (add_output_options); no colour in JSON."""
    return OutputStyle(color=not as_json and wants_color(args.color, stream), quiet=args.quiet, verbose=args.verbose,
                       full_trace=args.full_trace)
