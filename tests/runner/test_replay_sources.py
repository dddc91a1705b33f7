"""A counterexample is replayed on the texts it was found in, not on what the disk holds by the
time the replay runs (a model edited while `objcg-prove` verifies it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from objcg_proof.prove.verify import VerifyOptions
from objcg_proof.runner import batch

ROOT = Path(__file__).resolve().parents[2]


def test_a_model_edited_while_it_is_verified_replays_as_verified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = tmp_path / "counter.dsl"
    text = (ROOT / "models" / "examples" / "counter.dsl").read_text(encoding="utf-8")
    model.write_text(text, encoding="utf-8")
    solve = batch._check_here

    def solve_then_edit(compiled, shown):  # type: ignore[no-untyped-def]
        solve(compiled, shown)
        # the user saves an edit before the replay: every statement moves down ten lines
        model.write_text("// edited\n" * 10 + text, encoding="utf-8")

    monkeypatch.setattr(batch, "_check_here", solve_then_edit)
    [outcome] = batch.verify_models([str(model)], VerifyOptions())
    assert outcome.result is not None
    violated = [p for p in outcome.result.properties if p.status == "violated"]
    assert violated and all(p.trace is not None and not p.trace.unreplayed for p in violated)
    assert outcome.replay_failures == [] and outcome.failed == []
    # the edit is on disk, untouched: the replay only read the texts it was given
    assert model.read_text(encoding="utf-8").startswith("// edited\n")
