"""The result cache of `objcg-prove check`: a model that has not changed is not solved again.

Input: a key (`cache_key`) and a `verdict.ModelResult`. Output: the same ModelResult read back,
traces included, so a check answered from the cache prints and writes exactly what a solved one
does. The key covers everything a verdict depends on: the model's text and every file it
includes (ledger.digest), the path it was given as (trace rows name files by it), the bound, the
-D values, the solver options, the tool and z3 versions, and a digest of the prover's own source
(objcg_proof/*.py and the grammar), so a change to the prover can never be hidden by an entry
made before it.

Entries are one JSON file each, named by the key, written to a temporary file and renamed into
place (a reader never sees half an entry). Each entry carries a sha256 over its format, its key
and its result (`entry_digest`), so an entry that was edited or damaged after it was written
(a verdict turned from violated into proved, a trace step moved) is never served: `get` says
why it ignores such an entry, and the model is solved and the entry written again. An entry
that cannot be read back at all (truncated, not JSON, nested too deeply, too large, not a
regular file, another format) is ignored the same way. The gate also replays a cached
counterexample as it replays a fresh one (cli/gate.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..prove.verdict import KINDS, STATUSES, ModelResult, PropertyResult, Trace, TraceStep, WeakEvent, WeakExecution
from ..lang.resolve import MEMORY_MODELS
from ..prove.verify import VerifyOptions
from .files import write_atomically

DEFAULT_CACHE_DIR = ".objcg-cache"
ENTRY_FORMAT = "objcg-prove cache 3"   # 3: the memory model and a weak trace's memory order and graph
MAX_ENTRY_BYTES = 256 << 20   # far above any real entry (the largest shipped one is ~30 KB)


@lru_cache(maxsize=1)
def source_digest() -> str:
    """sha256 over the prover's source files (objcg_proof/**/*.py, objcg_proof/lang/grammar/*.lark),
    in path order, each with its path."""
    package = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    # (lang/grammar may be a symbolic link to grammar/ at the top, which rglob does not enter)
    for file in sorted(package.rglob("*.py")) + sorted((package / "lang" / "grammar").glob("*.lark")):
        h.update(f"{file.relative_to(package).as_posix()}\n".encode())
        data = file.read_bytes()
        h.update(f"{len(data)}:".encode())
        h.update(data)
    return h.hexdigest()


def cache_key(path: str, model_sha256: str, options: VerifyOptions, tool_version: str, z3_version: str) -> str:
    parts = {
        "path": path,
        "model_sha256": model_sha256,
        "bound": options.bound,
        "defines": sorted(options.defines),
        "solver": asdict(options.solver),
        "minimize": options.minimize,
        "only": sorted(options.only),
        "memory_model": options.memory_model,
        "tool_version": tool_version,
        "z3_version": z3_version,
        "source_sha256": source_digest(),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


class ResultCache:
    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)

    def file(self, key: str) -> Path:
        """Where the entry of `key` is."""
        return self.directory / f"{key}.json"

    def get(self, key: str) -> tuple[ModelResult | None, str]:
        """The cached result, or None and why an entry that exists was ignored ("" when there is
        no entry). An ignored entry is solved again and overwritten."""
        file = self.file(key)
        try:
            st = os.stat(file)
        except (FileNotFoundError, NotADirectoryError):   # no entry (or no cache directory: put says so)
            return None, ""
        except OSError as exc:
            return None, f"cannot read it: {exc.strerror or exc}"
        if not stat.S_ISREG(st.st_mode):
            return None, "it is not a regular file"
        if st.st_size > MAX_ENTRY_BYTES:
            return None, f"it is {st.st_size} bytes, larger than any entry"
        try:
            with open(file, encoding="utf-8") as f:
                data = json.loads(f.read(MAX_ENTRY_BYTES + 1))
        except FileNotFoundError:
            return None, ""
        except OSError as exc:
            return None, f"cannot read it: {exc.strerror or exc}"
        except (ValueError, RecursionError):   # not UTF-8, not JSON, nested too deeply, huge numbers
            return None, "it is not an entry's JSON (damaged or truncated)"
        if not isinstance(data, dict) or data.get("format") != ENTRY_FORMAT or data.get("key") != key:
            return None, "it is not an entry of this cache format for this key"
        try:
            if data.get("sha256") != entry_digest(key, data["result"]):
                return None, "its content does not match its sha256 (it was edited or damaged after it was written)"
            return result_from_json(data["result"]), ""
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            return None, f"it does not hold a result ({type(exc).__name__}: {str(exc)[:200]})"

    def put(self, key: str, result: ModelResult) -> None:
        data = result_to_json(result)
        text = json.dumps({"format": ENTRY_FORMAT, "key": key, "sha256": entry_digest(key, data), "result": data},
                          sort_keys=True)
        write_atomically(self.file(key), text)


def entry_digest(key: str, result: Any) -> str:
    """sha256 over the entry's format, key and result (as JSON with sorted keys, which reads back
    to the same text: floats and integers round-trip exactly)."""
    text = json.dumps([ENTRY_FORMAT, key, result], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---- ModelResult <-> JSON (every field, traces included) ----------------------------------------


def result_to_json(result: ModelResult) -> dict[str, Any]:
    return asdict(result)


def result_from_json(data: dict[str, Any]) -> ModelResult:
    """The inverse of result_to_json; ValueError / KeyError / TypeError on anything else."""
    props = tuple(_property(p) for p in data["properties"])
    params = tuple((str(k), _int(v)) for k, v in data["params"])
    stats = {str(k): _int(v) for k, v in dict(data["stats"]).items()}
    memory_model = _str(data["memory_model"])
    if memory_model not in MEMORY_MODELS:
        raise ValueError(f"not a memory model: {memory_model!r}")
    return ModelResult(_str(data["path"]), _int(data["bound"]), params, props, float(data["time_s"]), stats,
                       memory_model)


def _property(p: dict[str, Any]) -> PropertyResult:
    if p["status"] not in STATUSES or p["kind"] not in KINDS:
        raise ValueError(f"not a cached property: {p!r}")
    trace = None if p["trace"] is None else _trace(p["trace"])
    return PropertyResult(_str(p["name"]), p["kind"], p["status"], _int(p["bound"]), float(p["time_s"]),
                          _str(p["coverage"]), _str(p["reason"]), trace, _int(p["checks"]))


def _trace(t: dict[str, Any]) -> Trace:
    steps = tuple(TraceStep(_int(s["index"]), _str(s["thread"]), _str(s["file"]), _int(s["line"]), _str(s["text"]),
                            _str(s["c_line"]), tuple(_str(c) for c in s["changes"]),
                            tuple(_str(x) for x in s["reads"]), tuple(_str(x) for x in s["writes"])) for s in t["steps"])
    return Trace(steps, _str(t["violation"]), _str(t["file"]), _int(t["line"]), bool(t["shortest"]),
                 memory_order=tuple(_str(x) for x in t["memory_order"]), graph=_str(t["graph"]),
                 execution=None if t["execution"] is None else _execution(t["execution"]), thread=_str(t["thread"]),
                 focus=tuple(_str(x) for x in t["focus"]))


def _execution(x: dict[str, Any]) -> WeakExecution:
    def optional(v: Any) -> int | None:
        return None if v is None else _int(v)

    events = tuple(WeakEvent(_str(e["thread"]), _int(e["row"]), _str(e["kind"]), _str(e["loc"]), optional(e["read"]),
                             optional(e["written"]), _str(e["mode"]), _str(e["what"]), bool(e["wrote"]),
                             bool(e["ghost"])) for e in x["events"])
    return WeakExecution(events, tuple((_str(n), _int(v)) for n, v in x["initial"]),
                         tuple((_int(r), _int(w)) for r, w in x["reads_from"]),
                         tuple((_str(loc), tuple(_int(i) for i in ws)) for loc, ws in x["coherence"]),
                         tuple((_str(k), _int(a), _int(b)) for k, a, b in x["deps"]))


def _int(v: Any) -> int:
    if not isinstance(v, int) or isinstance(v, bool):
        raise TypeError(f"expected an integer, got {v!r}")
    return v


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise TypeError(f"expected a string, got {v!r}")
    return v
