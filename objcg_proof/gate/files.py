"""Writing a file whole or not at all: the ledger's records, the cache's entries, CI reports.

Input: a path and its text. Output: the file, written to a temporary file beside it and renamed
into place, so a reader (or a run that was killed halfway) never sees half a file. Whatever
stops the write (an error, KeyboardInterrupt) leaves the old file as it was and no temporary
file behind.

The file gets the permissions a plain `open(path, "w")` would give it: an existing file keeps
its mode; a new one gets 0666 less the umask (0644 under the usual umask 022), so a CI system
can publish what it wrote. (The temporary file is created 0600 by `tempfile.mkstemp`, and set
to that mode before it is renamed into place.)
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path


def write_atomically(path: Path, text: str) -> None:
    """Write `text` (UTF-8) to `path` whole or not at all. An OSError names `path`, never the
    temporary file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _mode_for(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            os.fchmod(f.fileno(), mode)
            f.write(text)
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(path)) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _mode_for(path: Path) -> int:
    """The permission bits `open(path, "w")` would leave `path` with."""
    try:
        st = os.stat(path)
    except OSError:
        st = None
    if st is not None and stat.S_ISREG(st.st_mode):
        return stat.S_IMODE(st.st_mode)
    umask = os.umask(0o022)   # the only way to read the umask: set it and put it back at once
    os.umask(umask)
    return 0o666 & ~umask


def same_file(a: str, b: str) -> bool:
    """Whether two paths name one file: the same file on disk, or, when either does not exist
    (yet), the same absolute path. Used to refuse an output file that names an input."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)
