"""The README's two commands on a stock Debian/Ubuntu python3 that refuses `pip install` (PEP 668).

A copy of this checkout (its tracked and unignored files: a fresh clone, in effect) runs `scripts/objcg-prove`
and `scripts/test` with the distribution's python3 first on PATH. They must create `.venv/`,
install there, and never write to the system interpreter. Skipped on a machine whose
/usr/bin/python3 is not externally managed (there is nothing PEP 668 would refuse).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STOCK = Path("/usr/bin/python3")


def _externally_managed(python: Path) -> bool:
    if not python.exists():
        return False
    probe = subprocess.run([str(python), "-c", "import sysconfig, os; "
                            "print(os.path.exists(os.path.join(sysconfig.get_path('stdlib'), 'EXTERNALLY-MANAGED')))"],
                           capture_output=True, text=True)
    return probe.returncode == 0 and probe.stdout.strip() == "True"


pytestmark = pytest.mark.skipif(not _externally_managed(STOCK),
                                reason=f"{STOCK} is not an externally managed (PEP 668) interpreter")


@pytest.fixture(scope="module")
def fresh_checkout(tmp_path_factory) -> Path:
    """This checkout's files as a clone of it would have them (tracked and not ignored; no .venv, no cache)."""
    dest = tmp_path_factory.mktemp("clone") / "objcg-prove"
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True)
    if listed.returncode != 0:  # not a git checkout (an unpacked archive): copy all but the local state
        shutil.copytree(ROOT, dest, symlinks=True, ignore=shutil.ignore_patterns(
            ".git", ".venv", ".objcg-cache", "__pycache__", "*.egg-info", ".pytest_cache"))
        return dest
    for name in filter(None, listed.stdout.decode().split("\0")):
        src = ROOT / name
        if src.is_symlink() or src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name, follow_symlinks=False)
    return dest


def _stock_env() -> dict[str, str]:
    """PATH with the distribution's python3 first; no virtual environment active."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env["PATH"] = f"{STOCK.parent}:/bin:" + env.get("PATH", "")
    return env


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=_stock_env(), capture_output=True, text=True, timeout=900)


def test_the_stock_python_refuses_a_system_wide_install():
    refused = subprocess.run([str(STOCK), "-m", "pip", "install", "--dry-run", "--no-deps", "lark"],
                             capture_output=True, text=True, env=_stock_env())
    assert refused.returncode != 0 and "externally-managed-environment" in refused.stdout + refused.stderr


def test_the_first_readme_command_installs_into_a_venv_and_runs(fresh_checkout):
    run = _run(["scripts/objcg-prove", "models/examples/counter.dsl"], fresh_checkout)
    assert run.returncode == 1, run.stderr  # counter.dsl's plain_is_2 is violated by design
    assert "plain_is_2    assert       VIOLATED" in run.stdout
    assert "counted_is_2  assert       proved" in run.stdout
    assert "creating the virtual environment" in run.stderr
    assert (fresh_checkout / ".venv" / "bin" / "python").exists()
    # The system interpreter was not written to.
    assert subprocess.run([str(STOCK), "-c", "import objcg_proof"], capture_output=True,
                          cwd="/", env=_stock_env()).returncode != 0
    # A second run reuses the environment: no setup message at all.
    again = _run(["scripts/objcg-prove", "--version"], fresh_checkout)
    assert again.returncode == 0 and again.stdout.startswith("objcg-prove ")
    assert again.stderr == ""


def test_the_test_command_runs_in_the_same_venv(fresh_checkout):
    run = _run(["bash", "scripts/test", "tests/lang/test_grammar_cache.py"], fresh_checkout)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert " passed" in run.stdout
    assert "installing objcg-prove[test]" in run.stderr
