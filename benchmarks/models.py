"""Measure and print the wall time of every shipped model, per property (asserts nothing).

    python3 benchmarks/models.py [MODEL...]      (default: models/*.dsl and models/examples/*.dsl)
"""

from __future__ import annotations

import glob
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from objcg_proof.lang.diagnostics import SourceCache  # noqa: E402
from objcg_proof.prove.verify import VerifyOptions, compile_model, verify_path  # noqa: E402


def main(paths: list[str]) -> None:
    if not paths:
        paths = sorted(glob.glob(str(ROOT / "models" / "*.dsl"))) + sorted(glob.glob(str(ROOT / "models" / "examples" / "*.dsl")))
    total = time.perf_counter()
    print(f"{'model':<28} {'steps':>5} {'events':>6} {'compile':>8} {'total':>8}  slowest property")
    for path in paths:
        t0 = time.perf_counter()
        prog = compile_model(path, SourceCache(), VerifyOptions())
        compiled = time.perf_counter() - t0
        result = verify_path(path, SourceCache(), VerifyOptions())
        slow = max(result.properties, key=lambda p: p.time_s)
        steps = len([s for s in prog.steps if not s.is_cut])
        print(f"{Path(path).name:<28} {steps:>5} {len(prog.events):>6} {compiled:>7.2f}s {result.time_s:>7.2f}s  "
              f"{slow.name} {slow.status} {slow.time_s:.2f}s")
    print(f"all models: {time.perf_counter() - total:.1f}s wall")


if __name__ == "__main__":
    main(sys.argv[1:])
