"""The C of a patch, from its hunks.

Input: the text of a patch, as `git format-patch` writes it or as it was mailed (headers, a
commit message, then `diff --git`, `--- a/FILE`, `+++ b/FILE` and `@@ -A,B +C,D @@` hunks; a
`-- ` signature and a version footer may follow). Output: per file the patch touches its hunks
(`patch_files`), and that file's text as far as the hunks show it, after the patch
(`post_image`) or before it (`pre_image`): every line a hunk shows at its line number in that
file, every other line empty, so that a position in the image is a position in the file; and
which lines those are (`post_shown`, `pre_shown`: runs that c_source.c_functions parses alone).

A hunk's body is read by its header's counts, as `git apply` reads it: the body ends when the
counts are used up, so a mail's trailing text is never taken for code. An empty line inside a
body is an empty context line (a blank whose trailing space a mailer dropped).

`mail_copy=True` reads a patch copied from a mail archive rather than written by git, as the
seed's v1 and v2 are. Two things are then accepted that git would refuse, neither of which moves
a line the image shows: a body line starting with neither ' ', '+' nor '-' is a context line
(archives that strip each line's leading whitespace strip the blank marking context with it;
only a guess for a context line whose code starts with '+' or '-', such as `-1);` continuing
an expression, which the counts usually catch), and a text that ends inside its last hunk (a
copy cut short) keeps that hunk as far as it goes, its counts those of the lines present.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# a count left out of a hunk header is 1 (`@@ -5 +5,2 @@`), as diff writes it.
_HUNK_HEADER = re.compile(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class PatchError(Exception):
    """A patch that cannot be read: `FILE:LINE: what was expected` (FILE: the patch's name)."""


@dataclass(frozen=True)
class Hunk:
    """One `@@ -old_start,old_count +new_start,new_count @@` hunk of a file's diff."""

    old_start: int
    old_count: int
    new_start: int
    new_count: int
    patch_line: int             # 1-based line of the @@ header in the patch
    lines: tuple[str, ...]      # the body, each line starting with ' ', '+' or '-'


def patch_files(text: str, name: str = "<patch>", *,
                mail_copy: bool = False) -> dict[str, tuple[Hunk, ...]]:
    """Every file the patch changes (its path on the b/ side, without `b/`; a deleted file by
    its a/ path) -> its hunks in patch order. PatchError on a hunk before any file header, a
    malformed header, a body whose lines do not add up to the header's counts, a body line
    starting with another character, hunks out of order or overlapping, or a file given two
    diffs. `mail_copy`: a copy from a mail archive (see the module docstring)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()             # the text's final newline ends the last line; it opens none
    files: dict[str, list[Hunk]] = {}
    headers: dict[str, int] = {}
    current: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if _is_file_header(lines, i):
            current = _target(lines[i][4:], lines[i + 1][4:])
            if current in files:
                raise PatchError(f"{name}:{i + 1}: a second diff of {current} (the first begins at line "
                                 f"{headers[current]}); expected one diff per file")
            files[current], headers[current] = [], i + 1
            i += 2
        elif line.startswith("@@"):
            if current is None:
                raise PatchError(f"{name}:{i + 1}: a hunk before any file header; expected "
                                 f"'--- a/FILE' and '+++ b/FILE' first")
            hunk, i = _read_hunk(lines, i, name, mail_copy)
            if files[current]:
                _check_order(files[current][-1], hunk, name)
            files[current].append(hunk)
        else:
            i += 1
    return {path: tuple(hunks) for path, hunks in files.items()}


def post_image(text: str, path: str, name: str = "<patch>", *, mail_copy: bool = False) -> str:
    """The text of `path` after the patch, as far as its hunks show it: each hunk's context and
    added lines from its new_start on, every other line empty (see the module docstring)."""
    return _image(patch_files(text, name, mail_copy=mail_copy), path, name, new=True)


def pre_image(text: str, path: str, name: str = "<patch>", *, mail_copy: bool = False) -> str:
    """The text of `path` before the patch, as far as its hunks show it: each hunk's context
    and removed lines from its old_start on, every other line empty."""
    return _image(patch_files(text, name, mail_copy=mail_copy), path, name, new=False)


def post_shown(text: str, path: str, name: str = "<patch>", *, mail_copy: bool = False) -> tuple[range, ...]:
    """The line numbers of post_image(text, path) that a hunk shows, as ranges in file order
    (adjacent hunks joined): what c_functions(..., shown=) parses."""
    return _shown(patch_files(text, name, mail_copy=mail_copy), path, name, new=True)


def pre_shown(text: str, path: str, name: str = "<patch>", *, mail_copy: bool = False) -> tuple[range, ...]:
    """The line numbers of pre_image(text, path) that a hunk shows, as ranges in file order."""
    return _shown(patch_files(text, name, mail_copy=mail_copy), path, name, new=False)


def _is_file_header(lines: list[str], i: int) -> bool:
    return lines[i].startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ ")


def _target(old: str, new: str) -> str:
    """The path a file header names: the b/ side's, or the a/ side's for a deleted file; a
    timestamp after a tab (plain `diff -u`) dropped."""
    old, new = old.split("\t")[0].strip(), new.split("\t")[0].strip()
    if new == "/dev/null":
        return old.removeprefix("a/")
    return new.removeprefix("b/")


def _read_hunk(lines: list[str], at: int, name: str, mail_copy: bool) -> tuple[Hunk, int]:
    """The hunk whose header is lines[at], and the index of the first line after it."""
    match = _HUNK_HEADER.match(lines[at])
    if match is None:
        raise PatchError(f"{name}:{at + 1}: expected a hunk header '@@ -START,COUNT +START,COUNT @@'")
    old_start, new_start = int(match[1]), int(match[3])
    old_count = 1 if match[2] is None else int(match[2])
    new_count = 1 if match[4] is None else int(match[4])
    old_left, new_left = old_count, new_count
    body: list[str] = []
    i = at + 1
    while old_left or new_left:
        if i == len(lines):
            if mail_copy:       # a copy cut short: the hunk as far as it goes
                old_count, new_count = old_count - old_left, new_count - new_left
                break
            raise PatchError(f"{name}:{i}: the patch ends inside the hunk at line {at + 1}; expected "
                             f"{_lines(old_left)} of the old side and {_lines(new_left)} of the new side more "
                             f"(a copy cut short)")
        line = lines[i]
        i += 1
        if line.startswith("\\"):
            continue            # "\ No newline at end of file": about the line before
        if line == "":
            line = " "
        elif line[0] not in " +-":
            if not mail_copy:
                raise PatchError(
                    f"{name}:{i}: expected a line of the hunk at line {at + 1} starting with ' ', '+' or '-' "
                    f"({_lines(old_left)} of the old side and {_lines(new_left)} of the new side to go), "
                    f"found {line[0]!r} (a mail archive's copy, whose context lines lost their leading "
                    f"blank?)")
            line = " " + line
        if line[0] in " -":
            old_left -= 1
        if line[0] in " +":
            new_left -= 1
        if old_left < 0 or new_left < 0:
            side, count = ("old", old_count) if old_left < 0 else ("new", new_count)
            raise PatchError(f"{name}:{i}: the hunk at line {at + 1} has more lines of the {side} side than "
                             f"its header's count ({count}); expected a '{'-' if side == 'new' else '+'}' line")
        body.append(line)
    while i < len(lines) and lines[i].startswith("\\"):
        i += 1
    if i < len(lines) and _overflows(lines, i):
        raise PatchError(f"{name}:{i + 1}: a hunk line after the end of the hunk at line {at + 1} "
                         f"(-{old_count} +{new_count} lines); expected the header's counts to cover it")
    return Hunk(old_start, old_count, new_start, new_count, at + 1, tuple(body)), i


def _overflows(lines: list[str], i: int) -> bool:
    """Whether lines[i], right after a complete hunk, looks like a body line the counts left
    out: a '+' or '-' line that is no file header and no `-- ` signature, or a context line."""
    line = lines[i]
    if line.startswith("@@") or _is_file_header(lines, i) or line.rstrip() == "--":
        return False
    return line[:1] in ("+", "-") or (line[:1] == " " and line.strip() != "")


def _check_order(before: Hunk, hunk: Hunk, name: str) -> None:
    """Hunks of one file come in file order and do not overlap, on either side."""
    if hunk.old_start < before.old_start + before.old_count or hunk.new_start < before.new_start + before.new_count:
        raise PatchError(f"{name}:{hunk.patch_line}: the hunk overlaps or precedes the hunk at line "
                         f"{before.patch_line}; expected hunks in file order")


def _lines(n: int) -> str:
    return f"{n} line" if n == 1 else f"{n} lines"


def _hunks(files: dict[str, tuple[Hunk, ...]], path: str, name: str) -> tuple[Hunk, ...]:
    hunks = files.get(path)
    if hunks is None:
        touched = ", ".join(files) if files else "no file"
        raise PatchError(f"{name}: the patch does not change {path}; it changes {touched}")
    return hunks


def _side(hunk: Hunk, new: bool) -> range:
    """The lines of the file a hunk shows, on one side."""
    start, count = (hunk.new_start, hunk.new_count) if new else (hunk.old_start, hunk.old_count)
    return range(start, start + count)


def _shown(files: dict[str, tuple[Hunk, ...]], path: str, name: str, new: bool) -> tuple[range, ...]:
    runs: list[range] = []
    for lines in (_side(hunk, new) for hunk in _hunks(files, path, name)):
        if not lines:
            continue
        if runs and runs[-1].stop == lines.start:
            runs[-1] = range(runs[-1].start, lines.stop)
        else:
            runs.append(lines)
    return tuple(runs)


def _image(files: dict[str, tuple[Hunk, ...]], path: str, name: str, new: bool) -> str:
    hunks = _hunks(files, path, name)
    shown: list[str] = []
    drop = "-" if new else "+"
    for hunk in hunks:
        number = hunk.new_start if new else hunk.old_start
        for line in hunk.lines:
            if line[0] == drop:
                continue
            shown.extend([""] * (number - 1 - len(shown)))
            shown.append(line[1:])
            number += 1
    return "".join(line + "\n" for line in shown)
