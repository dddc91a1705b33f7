"""Exit statuses of every command, how a tool bug is worded on one line (NOTE(internal-errors)
in lang/diagnostics.py), and what a `--property` that names nothing says. Imports nothing of the
command line, so any command may use it."""

from __future__ import annotations

import os

from ..lang.diagnostics import NO_SPAN, model_of

EXIT_PROVED, EXIT_VIOLATED, EXIT_USAGE, EXIT_INCONCLUSIVE, EXIT_INTERNAL = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = 130   # 128 + SIGINT, as a shell reports a command ended by Ctrl-C
EXIT_BROKEN_PIPE = 141   # 128 + SIGPIPE: the reader of the output went away
DEBUG_VARIABLE = "OBJCG_PROVE_DEBUG"   # set to 1: internal errors print their traceback too


def internal_error_line(exc: BaseException) -> str:
    """`objcg-prove: internal error: MODEL: TYPE: message`, on one line."""
    return f"objcg-prove: internal error: {model_of(exc) or NO_SPAN.file}: {exception_words(exc)}"


def exception_words(exc: BaseException) -> str:
    """`TYPE: message` of a tool bug, on one line (the message's whitespace collapsed)."""
    message = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def debugging() -> bool:
    """Whether OBJCG_PROVE_DEBUG asks for the tracebacks of internal errors."""
    return os.environ.get(DEBUG_VARIABLE, "") not in ("", "0")


def internal_error_text(failure: str) -> str:
    """A failure of runner/batch.py for stderr: its first line (a worker's traceback follows it only
    with OBJCG_PROVE_DEBUG=1)."""
    return failure.rstrip("\n") if debugging() else failure.split("\n", 1)[0]


def known_properties(names: list[str], whose: str = "its") -> str:
    """What follows `--property NAME: ... of that name or kind` on the line: the properties there
    are (`whose`: "its" for one model, "their" for several), and why `leak` is not among them
    when it is not (docs/semantics.md, "Property order")."""
    why = "" if "leak" in names else "; leak only with an object of a refcounted struct"
    return f" ({whose} properties: {', '.join(names)}{why})"
