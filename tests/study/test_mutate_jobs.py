"""`mutate --jobs N` (NOTE(mutant-jobs) in study/mutant_run.py) and `--rlimit`."""

from __future__ import annotations

import io
import json
from pathlib import Path

from objcg_proof.cli.dispatch import main

ROOT = Path(__file__).resolve().parents[2]
REFCOUNT = str(ROOT / "models" / "examples" / "refcount.dsl")


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(["mutate", *argv], out, err)
    return status, out.getvalue(), err.getvalue()


def _without_times(report: dict) -> dict:
    report["original"].pop("time_s")
    report["summary"].pop("time_s")
    for m in report["mutants"]:
        m.pop("time_s")
    return report


def test_jobs_give_the_serial_report_in_the_same_order() -> None:
    status1, out1, _ = _run("--json", "--limit", "6", REFCOUNT)
    status2, out2, _ = _run("--json", "--limit", "6", "--jobs", "2", REFCOUNT)
    assert status1 == status2
    serial, parallel = _without_times(json.loads(out1)), _without_times(json.loads(out2))
    assert [m["outcome"] for m in serial["mutants"]].count("killed") >= 1   # not all alike: order matters
    assert parallel == serial


def test_jobs_and_rlimit_are_checked_as_the_prover_checks_them() -> None:
    status, _, err = _run("--jobs", "0", REFCOUNT)
    assert status == 2 and "--jobs 0" in err
    status, _, err = _run("--rlimit", "x", REFCOUNT)
    assert status == 2 and "--rlimit x" in err


def test_rlimit_reaches_the_solver() -> None:
    status, out, err = _run("--json", "--limit", "1", "--rlimit", "1", REFCOUNT)
    assert "unknown" in json.loads(out)["original"]["statuses"].values()
    assert "is unknown" in err   # the warning about comparing with an unknown original
