"""Measure and print a cold and a warm `objcg-prove check` of the shipped models (asserts nothing).

Cold: an empty cache directory, so every model is solved. Warm: the same command again, so every
model is answered from the cache. Both run in this process against the committed ledger.

    python3 benchmarks/gate.py [MODEL...]      (default: models/*.dsl)
"""

from __future__ import annotations

import glob
import io
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from objcg_proof.cli.dispatch import main as cli_main  # noqa: E402


def timed_check(paths: list[str], cache_dir: str) -> tuple[float, int]:
    out, err = io.StringIO(), io.StringIO()
    t0 = time.perf_counter()
    rc = cli_main(["check", "--ledger", str(ROOT / "proofs"), "--cache-dir", cache_dir, *paths], out, err)
    return time.perf_counter() - t0, rc


def main(paths: list[str]) -> None:
    if not paths:
        paths = sorted(glob.glob(str(ROOT / "models" / "*.dsl")))
    with tempfile.TemporaryDirectory() as cache_dir:
        cold, cold_rc = timed_check(paths, cache_dir)
        warm, warm_rc = timed_check(paths, cache_dir)
    print(f"check of {len(paths)} models   cold (empty cache)   warm (cached)   cold / warm")
    print(f"{'':<22} {cold:>10.2f}s (exit {cold_rc})   {warm:>7.3f}s (exit {warm_rc})   {cold / warm:>8.0f}x")


if __name__ == "__main__":
    main(sys.argv[1:])
