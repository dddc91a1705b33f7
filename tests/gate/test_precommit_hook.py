"""The pre-commit framework's hook (.pre-commit-hooks.yaml), run by pre-commit itself.

A small project (counter.dsl and its record) in a temporary git repository runs the hook with
`pre-commit try-repo` on this checkout: it passes while the verdicts match the record, and
fails, showing the gate's report, once a commit changes one. pre-commit installs objcg-prove
into an environment of its own (PRE_COMMIT_HOME in the test's directory), as it would for a user.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=test@example.org", "-c", "user.name=test", *args], cwd=cwd,
                   check=True, capture_output=True)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    if subprocess.run(["git", "rev-parse", "--git-dir"], cwd=ROOT, capture_output=True).returncode != 0:
        pytest.skip("try-repo needs this checkout to be a git repository")
    proj = tmp_path / "proj"
    for rel in ("models/examples/counter.dsl", "proofs/models/examples/counter.dsl.json"):
        (proj / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, proj / rel)
    _git(proj, "init", "-q")
    _git(proj, "add", "-A")
    _git(proj, "commit", "-qm", "models and their records")
    return proj


def _hook(proj: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PRE_COMMIT_HOME"] = str(proj.parent / "pre-commit-home")
    return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "objcg-prove-check", "--all-files"],
                          cwd=proj, env=env, capture_output=True, text=True, timeout=900)


def test_the_hook_passes_on_recorded_verdicts_and_fails_on_a_changed_one(project: Path) -> None:
    run = _hook(project)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "objcg-prove check (the verdicts recorded in proofs/)" in run.stdout and "Passed" in run.stdout
    model = project / "models/examples/counter.dsl"
    text = model.read_text()
    old = "    atomic_inc(&counted);   // atomic_inc(&counted);\n"
    assert text.count(old) == 1
    model.write_text(text.replace(old, "    word c = counted;\n    counted = c + 1;\n"))
    _git(project, "commit", "-qam", "counted is no longer atomic")
    run = _hook(project)
    assert run.returncode == 1, run.stdout[-3000:]
    assert "Failed" in run.stdout
    assert "counted_is_2: expected proved, now violated" in run.stdout
    assert "gate: 0 passed, 1 failed" in run.stdout
