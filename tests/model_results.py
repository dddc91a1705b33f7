"""Verdicts of the shipped models, computed once per test run and shared by test files.

The shipped models' results go through the gate's own cache (`.objcg-cache` at the top of the
checkout, the directory scripts/test's `check` and tests/gate/test_gate.py's check of the shipped
models use), under the key `check` gives them: the six designs on the full scenario take minutes
each, and whichever of the gate and the verdict tests asks first solves them; the others, in this
process or in another test worker, read the entry back. The key covers the model, its options,
the z3 version and the prover's own source (gate/cache.py), so an entry never outlives a change
that could move a verdict. Other paths (tests/narrow/) are solved here.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from objcg_proof.cli.gate import gate_lookup
from objcg_proof.gate.cache import DEFAULT_CACHE_DIR, ResultCache
from objcg_proof.gate.ledger import DEFAULT_LEDGER
from objcg_proof.lang.diagnostics import SourceCache
from objcg_proof.prove.solver import SolverOptions
from objcg_proof.prove.verdict import ModelResult
from objcg_proof.prove.verify import VerifyOptions, verify_path
from objcg_proof.runner.batch import replay_counterexamples

ROOT = Path(__file__).resolve().parent.parent

# The default options, but 30 minutes per solver query instead of 5: the uaf queries of v3 and v4
# on the full scenario take minutes on a loaded 2-core machine (scripts/test gives `check` the
# same --timeout).
SHIPPED_TIMEOUT_S = 1800.0
SHIPPED_OPTIONS = VerifyOptions(solver=SolverOptions(timeout_s=SHIPPED_TIMEOUT_S))


@contextlib.contextmanager
def designs_lock() -> Iterator[None]:
    """Held while the shipped models are looked up and solved: by the gate's check of them
    (tests/gate/test_gate.py) and by `proved`. Test workers (pytest-xdist, scripts/test) run in
    separate processes: the first to take it solves, the other then reads the cache."""
    name = "objcg-tests-" + hashlib.sha256(str(ROOT).encode()).hexdigest()[:16] + ".lock"
    with open(Path(tempfile.gettempdir()) / name, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@functools.lru_cache(maxsize=None)
def proved(path: str) -> ModelResult:
    """The prover's result for a model path relative to the project root: a shipped model's (under
    models/) as `check --timeout 1800` has it, anything else's with SHIPPED_OPTIONS."""
    if not path.startswith("models/"):
        return verify_path(str(ROOT / path), SourceCache(), SHIPPED_OPTIONS)
    here = Path.cwd()
    with designs_lock():
        return _through_the_gate_cache(path, here)


def _through_the_gate_cache(path: str, here: Path) -> ModelResult:
    try:
        # relative paths, from the top of the checkout, as scripts/test's check is run: the path a
        # model was given as is part of its key
        os.chdir(ROOT)
        cache = ResultCache(DEFAULT_CACHE_DIR)
        hit, options, key = gate_lookup(path, DEFAULT_LEDGER, SHIPPED_OPTIONS.solver, cache)
        if hit is not None:
            return hit
        assert options is not None
        sources = SourceCache()
        result = verify_path(path, sources, options)
        # as check stores it: every counterexample replayed on the reference interpreter first
        failures, result = replay_counterexamples(path, options, result, sources)
        assert not failures, failures
        cache.put(key, result)
        return result
    finally:
        os.chdir(here)
