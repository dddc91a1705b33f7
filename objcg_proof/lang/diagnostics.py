"""User-facing errors: a location in a model file, a message, a caret line.

Input: whatever a stage found wrong in the user's input. Output: `Diagnostic` values and the
`UserError` exception that carries them to the CLI, which prints them and exits with status 2.
Also `read_source`, the one way a model file's bytes are read (regular files only, size
capped), and `SourceCache`, whose lines end where the parser's do (NOTE(lines)).
Library code never prints; tool bugs are not UserErrors and keep their traceback.
`working_on(path)` marks the code that processes one model, so that a tool bug escaping it
carries the model's name to the command line (NOTE(internal-errors)).
"""

from __future__ import annotations

import errno
import os
import stat
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator


@dataclass(frozen=True)
class Span:
    """A place in a model file: 1-based line and column, end exclusive."""

    file: str
    line: int
    column: int
    end_line: int = 0
    end_column: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


NO_SPAN = Span("<command line>", 0, 0)


@dataclass(frozen=True)
class Diagnostic:
    """An error in the user's input: where, what, and notes."""

    span: Span
    message: str
    notes: tuple[str, ...] = ()

    def render(self, sources: "SourceCache") -> str:
        head = f"{self.span}: error: {self.message}" if self.span.line else f"{self.span.file}: error: {self.message}"
        lines = [head]
        text = sources.line(self.span.file, self.span.line) if self.span.line else None
        if text is not None:
            # one column per character, as the parser counts them: a tab or a form feed is one
            lines.append("    " + text.translate(_ONE_COLUMN))
            width = 1
            if self.span.end_line == self.span.line and self.span.end_column > self.span.column:
                width = self.span.end_column - self.span.column
            lines.append("    " + " " * (self.span.column - 1) + "^" + "~" * (width - 1))
        for note in self.notes:
            lines.append(f"    note: {note}")
        return "\n".join(lines)


class UserError(Exception):
    """Bad input: one or more diagnostics. Never a tool bug."""

    def __init__(self, diagnostics: list[Diagnostic] | Diagnostic) -> None:
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics = list(diagnostics)
        super().__init__("; ".join(f"{d.span}: {d.message}" for d in self.diagnostics))


def error(span: Span, message: str, *notes: str) -> UserError:
    return UserError(Diagnostic(span, message, tuple(notes)))


# NOTE(lines): a line ends at '\n' and nowhere else, as lark counts lines. str.splitlines()
# also breaks at \r, \v, \f, \x1c-\x1e, \x85, U+2028 and U+2029, which once put the caret
# on the wrong line after any of them; the caret line shows each of them (and a tab, and any
# other control character) as a space.
_ONE_COLUMN = str.maketrans({c: " " for c in [*map(chr, range(32)), "\x7f", "\x85", "\u2028", "\u2029"]})


def printable(text: str) -> str:
    """`text` (a file name from a model) with control characters escaped, for a message."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)

MAX_SOURCE_BYTES = 16 << 20   # a model file (or an include) larger than this is refused


class SourceUnreadable(Exception):
    """A model file that cannot be read as one: why, in words (`cannot open ...: <why>`)."""


def read_source(path: str | Path) -> bytes:
    """The bytes of a model file: a regular file of at most MAX_SOURCE_BYTES. Opened without
    blocking (a FIFO is refused, not waited on) and never read past the cap, so /dev/zero,
    /dev/urandom, FIFOs and directories are refused before a byte is read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except ValueError:  # an embedded NUL byte
        raise SourceUnreadable("the file name contains a NUL byte") from None
    except FileNotFoundError:
        raise SourceUnreadable("no such file") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SourceUnreadable("too many levels of symbolic links (a symlink loop)") from None
        raise SourceUnreadable(exc.strerror or str(exc)) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise SourceUnreadable("it is a directory")
        if not stat.S_ISREG(info.st_mode):
            raise SourceUnreadable("it is not a regular file (a device, FIFO or socket is never read)")
        chunks, size = [], 0
        while size <= MAX_SOURCE_BYTES:
            chunk = os.read(fd, MAX_SOURCE_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
    except OSError as exc:
        raise SourceUnreadable(exc.strerror or str(exc)) from None
    finally:
        os.close(fd)
    if len(data) > MAX_SOURCE_BYTES:
        raise SourceUnreadable(f"it is larger than {MAX_SOURCE_BYTES >> 20} MiB")
    return data


# NOTE(internal-errors): any exception but a UserError (and KeyboardInterrupt) is a tool bug.
# cli.main reports it for every command as one line, `objcg-prove: internal error: MODEL: TYPE:
# message`, exit status 4 (the traceback only with OBJCG_PROVE_DEBUG=1). MODEL is the model that
# was being processed: code that works on one of several models runs inside `working_on(path)`,
# which tags an escaping exception with the path (the innermost `working_on` wins); a command
# that works on one model says so once with `processing(path)` (cli.main runs each command in a
# context of its own, so that lasts for the command). `model_of` gives the model to blame.
_MODEL_ATTRIBUTE = "objcg_prove_model"
_PROCESSING: ContextVar[str | None] = ContextVar("objcg_prove_processing", default=None)


@contextmanager
def working_on(path: str) -> Iterator[None]:
    """Blame a tool bug raised inside the block on the model `path` (NOTE(internal-errors))."""
    try:
        yield
    except UserError:
        raise
    except Exception as exc:
        if getattr(exc, _MODEL_ATTRIBUTE, None) is None:
            try:
                setattr(exc, _MODEL_ATTRIBUTE, path)
            except AttributeError:   # an exception type with __slots__: blamed on the command's model
                pass
        raise


def processing(path: str) -> None:
    """Blame tool bugs on the model `path` for the rest of the command (NOTE(internal-errors))."""
    _PROCESSING.set(path)


def model_of(exc: BaseException) -> str | None:
    """The model to blame a tool bug on, if known."""
    model = getattr(exc, _MODEL_ATTRIBUTE, None)
    return model if isinstance(model, str) else _PROCESSING.get()


@dataclass(frozen=True)
class SourceFile:
    """A model file as the parser read it: the name it is shown by, the file that name resolved
    to (two names of one file are one file), its text. What a task on another machine compiles
    from (NOTE(shipped-sources))."""

    shown: str
    resolved: str
    text: str


# NOTE(shipped-sources): a model compiled where its files are not (a Dask worker on another
# machine, runner/dask_pool.py) is compiled from the files the parent read: `files()` lists each
# name the parser opened (includes too, and a file included under two names once per name) with
# what it resolved to and its text; `SourceCache.shipped(files)` gives a cache the parser reads
# from instead of the disk (lang/parser.py `_load`), so the worker sees the same names, the same
# texts and the same include graph. A name the parent never opened is not read from the worker's
# disk either: it is refused as unreadable.

@dataclass
class SourceCache:
    """Text of every model file read in this run, for carets and C-line citations."""

    texts: dict[str, str] = field(default_factory=dict)
    opened: dict[str, str] = field(default_factory=dict)   # shown name -> the file it resolved to (the parser)
    given: dict[str, SourceFile] | None = None   # the only files there are (NOTE(shipped-sources))

    @classmethod
    def shipped(cls, files: tuple[SourceFile, ...]) -> SourceCache:
        """A cache holding `files`, from which the parser reads instead of the disk."""
        return cls(texts={f.shown: f.text for f in files}, given={f.shown: f for f in files})

    def files(self) -> tuple[SourceFile, ...]:
        """Every file the parser opened, under each name it was opened by (NOTE(shipped-sources))."""
        text_of = {self.opened[name]: text for name, text in self.texts.items() if name in self.opened}
        return tuple(SourceFile(name, resolved, text_of[resolved])
                     for name, resolved in self.opened.items() if resolved in text_of)

    def add(self, name: str, text: str) -> None:
        self.texts[name] = text

    def line(self, name: str, line: int) -> str | None:
        text = self.texts.get(name)
        if text is None and self.given is None:
            try:
                # a byte that is not UTF-8 shows as U+FFFD: the caret line of the error that
                # reports it (a command that read the file itself) is still shown
                text = read_source(name).decode("utf-8", "replace")
            except SourceUnreadable:
                return None
            self.texts[name] = text
        if text is None:
            return None
        lines = text.split("\n")  # NOTE(lines)
        if 1 <= line <= len(lines):
            return lines[line - 1].removesuffix("\r")   # a CRLF file's lines, without the CR
        return None

    def c_comment(self, name: str, line: int) -> str:
        """The trailing `//` comment of a model line: by convention the C line it mirrors."""
        text = self.line(name, line)
        if text is None or "//" not in text:
            return ""
        in_string = False
        for i, ch in enumerate(text):
            if ch == '"':
                in_string = not in_string
            elif not in_string and text.startswith("//", i):
                return text[i + 2 :].strip()
        return ""
