"""Verdicts of the shipped models, computed once per test session and shared by test files."""

from __future__ import annotations

import functools
from pathlib import Path

from objcg_proof.lang.diagnostics import SourceCache
from objcg_proof.prove.verdict import ModelResult
from objcg_proof.prove.verify import VerifyOptions, verify_path

ROOT = Path(__file__).resolve().parent.parent


@functools.lru_cache(maxsize=None)
def proved(path: str) -> ModelResult:
    """The prover's result for a model path relative to the project root, default options."""
    return verify_path(str(ROOT / path), SourceCache(), VerifyOptions())
