"""Verify many models: the one entry point that `prove`, `check` and `compare` share.

Input: model paths and `VerifyOptions`. Output: one `ModelOutcome` per path, in the order given:
the verdicts (`verdict.ModelResult`), or the diagnostics of bad input, plus any counterexample
that failed to replay on the reference interpreter (NOTE(replay) in cli.py). Nothing here prints
verdicts; callers render the outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TextIO

from .diagnostics import Diagnostic, SourceCache, UserError
from .verdict import VIOLATED, ModelResult
from .verify import VerifyOptions, verify_path


@dataclass
class ModelOutcome:
    path: str
    options: VerifyOptions
    sources: SourceCache
    result: ModelResult | None = None                 # None when the input was bad
    diagnostics: list[Diagnostic] = field(default_factory=list)
    replay_failures: list[str] = field(default_factory=list)

    @property
    def bad_input(self) -> bool:
        return self.result is None


def verify_models(paths: list[str], options: VerifyOptions, jobs: int = 1,
                  progress: TextIO | None = None) -> list[ModelOutcome]:
    """Verify each model and replay its counterexamples. `jobs` and `progress` are accepted for
    the parallel runner; this runs the models one after the other."""
    return [verify_one(path, options) for path in paths]


def verify_one(path: str, options: VerifyOptions) -> ModelOutcome:
    sources = SourceCache()
    outcome = ModelOutcome(path, options, sources)
    try:
        outcome.result = verify_path(path, sources, options)
    except UserError as exc:
        outcome.diagnostics = list(exc.diagnostics)
        return outcome
    outcome.replay_failures = replay_failures(path, options, outcome.result)
    return outcome


def replay_failures(path: str, options: VerifyOptions, result: ModelResult) -> list[str]:
    """Replay every counterexample of `result` on the reference interpreter (interpret.py)."""
    from .interpret import replay
    from .parser import load_model
    from .resolve import resolve

    violated = [p for p in result.properties if p.status == VIOLATED and p.trace is not None]
    if not violated:
        return []
    program = resolve(load_model(path, SourceCache()), dict(options.defines), options.bound)
    failures = []
    for p in violated:
        assert p.trace is not None
        schedule = [(s.thread, s.file, s.line) for s in p.trace.steps]
        ok, why = replay(program, schedule, p.name, p.kind)
        if not ok:
            failures.append(f"the counterexample for {p.name} in {path} does not replay: {why}")
    return failures
