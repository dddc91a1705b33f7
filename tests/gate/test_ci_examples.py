"""The CI examples in docs/ci/ (docs/ci.md): each is well-formed YAML with the steps docs/ci.md
promises, and its `objcg-prove drift` and `objcg-prove check` command lines, run as written from
a repository laid out as the examples assume (tools/objcg/models, tools/objcg/proofs, the kernel's
C at the root), pass and write the reports the later steps upload."""

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


def _check_command(text: str, command: str = "check") -> list[str]:
    """The words after `objcg-prove COMMAND` in a run/script line."""
    words = shlex.split(text)
    at = next(i for i, w in enumerate(words) if w.endswith("scripts/objcg-prove"))
    assert words[at + 1] == command
    return words[at + 2:]


def _lines(example: str, command: str) -> list[str]:
    """The example's run/script lines that run `objcg-prove COMMAND`, in order."""
    if example == "github":
        return [s["run"] for s in _steps() if f"objcg-prove {command}" in str(s.get("run", ""))]
    return [x for x in yaml.safe_load(GITLAB.read_text())["objcg-gate"]["script"] if f"scripts/objcg-prove {command} " in x]


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
    uploads = {u["with"]["sarif_file"]: u for u in _uses("github/codeql-action/upload-sarif")}
    assert uploads[sarif]["if"] == "${{ !cancelled() }}"
    # drift runs first, from the root, and its SARIF is uploaded too; check runs also after drift failed
    names = [s.get("name") for s in _steps()]
    assert names.index("objcg-prove drift") < names.index("objcg-prove check")
    assert run[0]["if"] == "${{ !cancelled() }}"
    drift = _check_command(_lines("github", "drift")[0], "drift")
    assert drift[drift.index("--kernel-tree") + 1] == "."
    assert uploads[drift[drift.index("--sarif") + 1]]["if"] == "${{ !cancelled() }}"
    assert len({u["with"]["category"] for u in uploads.values()}) == len(uploads)


def test_the_gitlab_job_caches_checks_and_reports_junit() -> None:
    job = yaml.safe_load(GITLAB.read_text())["objcg-gate"]
    assert job["cache"]["paths"] == [".objcg-cache/"]
    script = "\n".join(job["script"])
    assert script.index("objcg-prove drift --kernel-tree . ") < script.index("objcg-prove check ")
    drift = _check_command(_lines("gitlab", "drift")[0], "drift")
    assert drift[drift.index("--sarif") + 1] in job["artifacts"]["paths"]
    argv = _check_command([line for line in job["script"] if "scripts/objcg-prove check " in line][0])
    assert job["artifacts"]["reports"]["junit"] == argv[argv.index("--junit") + 1]
    assert job["artifacts"]["when"] == "always"


@pytest.mark.parametrize("example", ["github", "gitlab"])
def test_the_check_command_line_runs_as_written(example: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    line = _lines(example, "check")[0]
    models = tmp_path / "tools" / "objcg" / "models"
    models.mkdir(parents=True)
    shutil.copy(ROOT / "models" / "examples" / "counter.dsl", models / "counter.dsl")
    monkeypatch.chdir(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    # the drift step: counter.dsl mirrors no kernel function, which drift says and passes
    drift = _check_command(_lines(example, "drift")[0], "drift")
    drift = [w for a in drift for w in (sorted(str(p.relative_to(tmp_path)) for p in tmp_path.glob(a)) if "*" in a else [a])]
    assert main(["drift", *drift], out, err) == 0, err.getvalue()
    assert "counter.dsl: mirrors no C function" in err.getvalue()
    assert json.loads((tmp_path / drift[drift.index("--sarif") + 1]).read_text())["runs"][0]["results"] == []
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
