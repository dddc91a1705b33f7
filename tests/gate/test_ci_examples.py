"""The CI examples in docs/ci/ (docs/ci.md): each is well-formed YAML with the steps docs/ci.md
promises, and its `objcg-prove check` command line, run as written from a repository laid out
as the examples assume (tools/objcg/models, tools/objcg/proofs), passes the gate and writes the
reports the later steps upload."""

from __future__ import annotations

import io
import json
import shlex
import shutil
from pathlib import Path

import pytest
import yaml

from objcg_proof.cli.dispatch import main

ROOT = Path(__file__).resolve().parents[2]
GITHUB = ROOT / "docs" / "ci" / "github-workflow.yml"
GITLAB = ROOT / "docs" / "ci" / "gitlab-ci.yml"


def _steps() -> list[dict]:
    workflow = yaml.safe_load(GITHUB.read_text())
    return workflow["jobs"]["gate"]["steps"]


def _uses(name: str) -> list[dict]:
    return [s for s in _steps() if str(s.get("uses", "")).startswith(name + "@")]


def _check_command(text: str) -> list[str]:
    """The words after `objcg-prove check` in a run/script line."""
    words = shlex.split(text)
    at = next(i for i, w in enumerate(words) if w.endswith("scripts/objcg-prove"))
    assert words[at + 1] == "check"
    return words[at + 2:]


def test_the_github_workflow_caches_checks_and_uploads() -> None:
    workflow = yaml.safe_load(GITHUB.read_text())
    assert workflow["permissions"]["security-events"] == "write"
    assert _uses("actions/setup-python")
    cache = _uses("actions/cache")[0]["with"]
    assert cache["path"] == ".objcg-cache"    # check's default --cache-dir, from the root
    run = [s for s in _steps() if "objcg-prove check" in str(s.get("run", ""))]
    assert len(run) == 1 and "working-directory" not in run[0]   # from the root: SARIF paths are the repo's
    argv = _check_command(run[0]["run"])
    sarif = argv[argv.index("--sarif") + 1]
    upload = _uses("github/codeql-action/upload-sarif")[0]
    assert upload["with"]["sarif_file"] == sarif and upload["if"] == "${{ !cancelled() }}"


def test_the_gitlab_job_caches_checks_and_reports_junit() -> None:
    job = yaml.safe_load(GITLAB.read_text())["objcg-gate"]
    assert job["cache"]["paths"] == [".objcg-cache/"]
    argv = _check_command([line for line in job["script"] if "scripts/objcg-prove check " in line][0])
    assert job["artifacts"]["reports"]["junit"] == argv[argv.index("--junit") + 1]
    assert job["artifacts"]["when"] == "always"


@pytest.mark.parametrize("example", ["github", "gitlab"])
def test_the_check_command_line_runs_as_written(example: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    if example == "github":
        line = [s["run"] for s in _steps() if "objcg-prove check" in str(s.get("run", ""))][0]
    else:
        line = [x for x in yaml.safe_load(GITLAB.read_text())["objcg-gate"]["script"] if "scripts/objcg-prove check " in x][0]
    models = tmp_path / "tools" / "objcg" / "models"
    models.mkdir(parents=True)
    shutil.copy(ROOT / "models" / "examples" / "counter.dsl", models / "counter.dsl")
    monkeypatch.chdir(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    argv = _check_command(line)
    ledger = argv[argv.index("--ledger") + 1]
    assert main(["prove", "--record", "--ledger", ledger, "tools/objcg/models/counter.dsl"], out, err) == 1
    argv = [w for a in argv for w in (sorted(str(p.relative_to(tmp_path)) for p in tmp_path.glob(a)) if "*" in a else [a])]
    status = main(["check", *argv], out, err)
    assert status == 0, err.getvalue()
    assert (tmp_path / argv[argv.index("--junit") + 1]).read_text().startswith("<?xml")
    sarif = json.loads((tmp_path / argv[argv.index("--sarif") + 1]).read_text())
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"]
            for r in sarif["runs"][0]["results"] for loc in r["locations"]}
    assert uris == {"tools/objcg/models/counter.dsl"}   # the repository's own path for the alert
    assert (tmp_path / ".objcg-cache").is_dir()        # what the cache step keeps
