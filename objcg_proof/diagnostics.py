"""User-facing errors: a location in a model file, a message, a caret line.

Input: whatever a stage found wrong in the user's input. Output: `Diagnostic` values and the
`UserError` exception that carries them to the CLI, which prints them and exits with status 2.
Library code never prints; tool bugs are not UserErrors and keep their traceback.
`working_on(path)` marks the code that processes one model, so that a tool bug escaping it
carries the model's name to the command line (NOTE(internal-errors)).
"""

from __future__ import annotations

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
    span: Span
    message: str
    notes: tuple[str, ...] = ()

    def render(self, sources: "SourceCache") -> str:
        head = f"{self.span}: error: {self.message}" if self.span.line else f"{self.span.file}: error: {self.message}"
        lines = [head]
        text = sources.line(self.span.file, self.span.line) if self.span.line else None
        if text is not None:
            lines.append("    " + text.rstrip("\n").expandtabs(1))
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


@dataclass
class SourceCache:
    """Text of every model file read in this run, for carets and C-line citations."""

    texts: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, text: str) -> None:
        self.texts[name] = text

    def line(self, name: str, line: int) -> str | None:
        text = self.texts.get(name)
        if text is None:
            try:
                text = Path(name).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                return None
            self.texts[name] = text
        lines = text.splitlines()
        if 1 <= line <= len(lines):
            return lines[line - 1]
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
