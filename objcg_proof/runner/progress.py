"""A progress line for long runs: `[7/30] models/objcg_v4.dsl uaf ...` on stderr.

Input: a stream, the number of things to do, and calls to `show(done, label)`. Output: one line,
rewritten in place with a carriage return and cleared by `close()`. The line is written only
when the stream is a terminal (`isatty()`) and the run has lasted `PROGRESS_AFTER_S` seconds,
so short runs, CI logs, pipes and tests stay clean. Nothing else is ever written.
With `log=True` (`-v`, NOTE(output-style) in cli/style.py) each label is a line of its own
instead, `objcg-prove: [7/30] models/objcg_v4.dsl uaf (12 s so far)`, written whatever the
stream is and however short the run.
"""

from __future__ import annotations

import shutil
import time
from types import TracebackType
from typing import Callable, TextIO

PROGRESS_AFTER_S = 2.0   # runs shorter than this show no progress line


class Progress:
    def __init__(self, stream: TextIO | None, total: int, clock: Callable[[], float] = time.monotonic,
                 log: bool = False) -> None:
        isatty = getattr(stream, "isatty", None)
        self._log = stream if log else None
        self._stream = stream if not log and stream is not None and isatty is not None and isatty() else None
        self._total = total
        self._clock = clock
        self._start = clock()
        self._line = ""          # the line on the terminal now ("": none)

    def show(self, done: int, label: str) -> None:
        """Say that `done` of the total are finished and `label` is being worked on."""
        if self._log is not None:
            self._log.write(f"objcg-prove: [{done}/{self._total}] {label} ({self._clock() - self._start:.0f} s so far)\n")
            self._log.flush()
            return
        if self._stream is None or self._clock() - self._start < PROGRESS_AFTER_S:
            return
        line = f"[{done}/{self._total}] {label} ..."
        width = shutil.get_terminal_size().columns - 1   # a wrapped line could not be rewritten
        if len(line) > width > 8:
            line = line[: width - 3] + "..."
        if line != self._line:
            self._stream.write("\r" + line + " " * max(0, len(self._line) - len(line)))
            self._stream.flush()
            self._line = line

    def close(self) -> None:
        """Clear the line, leaving the cursor where the line began."""
        if self._stream is not None and self._line:
            self._stream.write("\r" + " " * len(self._line) + "\r")
            self._stream.flush()
            self._line = ""

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
