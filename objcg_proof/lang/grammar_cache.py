"""The parser tables of the grammar, built once per grammar and kept on disk.

lark builds its LALR tables from the grammar text every time a process starts: ~0.15 s, about
half of what a small model costs from start to verdict (counter.dsl: 0.47 s, of which SPIN's
whole run on its export is 0.30 s). Built tables are saved with `lark.Lark.save` to the user's
cache directory (`$XDG_CACHE_HOME/objcg-prove`, else `~/.cache/objcg-prove`; the variable
OBJCG_PROVE_GRAMMAR_CACHE names another directory, or turns the cache off when empty) and
loaded with `lark.Lark.load` by later processes.

The file's name is a sha256 over everything the tables depend on: the grammar text, the lark
options, lark's version and Python's. A changed grammar or library is a different file, never a
stale one. A file is written to a temporary name in the same directory and renamed into place,
so a reader (a parallel worker) never sees half of one. A file that cannot be read or loaded
(damaged, truncated, another format) is ignored and written again; a directory that cannot be
written leaves the tables built in memory, as without a cache. Loading runs pickle on the file:
the directory is the user's own, trusted as the user's own installed code is.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path
from typing import IO, Callable, TypeVar

CACHE_VARIABLE = "OBJCG_PROVE_GRAMMAR_CACHE"

T = TypeVar("T")


def cache_directory() -> Path | None:
    """Where grammar tables are kept; None when the cache is turned off."""
    named = os.environ.get(CACHE_VARIABLE)
    if named is not None:
        return Path(named) if named else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "objcg-prove"


def table_file(directory: Path, key: str) -> Path:
    digest = hashlib.sha256("\0".join([key, sys.version]).encode("utf-8")).hexdigest()
    return directory / f"grammar-{digest[:40]}.lark"


def load_or_build(key: str, build: Callable[[], T], load: Callable[[IO[bytes]], T],
                  save: Callable[[T, IO[bytes]], None]) -> T:
    """What `build()` makes, read back with `load` from the file named by `key` (everything the
    result depends on: lang/parser.py passes the grammar text, lark's options and version) when
    that file is there, else built and written with `save`."""
    directory = cache_directory()
    if directory is None:
        return build()
    path = table_file(directory, key)
    try:
        with open(path, "rb") as f:
            return load(f)
    except Exception:   # absent, unreadable or damaged: build and save anew
        pass
    made = build()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".grammar-", dir=directory)
        try:
            with os.fdopen(fd, "wb") as f:
                save(made, f)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass   # a read-only or full cache directory: the tables stay in memory only
    return made
