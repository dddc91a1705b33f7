"""How the LKMM encoding scales on the objcg code (asserts nothing).

    python3 benchmarks/lkmm_scale.py [DESIGN...]     (default: objcg_v2 ... objcg_v5)

For each design, the attach race of docs/lkmm.md section 6 (tests/lkmm_scenarios/attach_race.dsl
with the design's procedures appended, as tests/prove/test_objcg_attach_race.py builds it) is
verified for lost_update three times in one process, side by side: under sequential
consistency, under the LKMM, and under the LKMM with smp_wmb() before the attach callback.
Printed per run: the verdict, the LKMM events (memory accesses, initial writes included, and
fences), the seconds spent building the LKMM encoding and the whole run, and the LKMM run's time
as a ratio of the SC run's.
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "prove"))

from objcg_proof.lang.diagnostics import SourceCache  # noqa: E402
from objcg_proof.prove import lkmm  # noqa: E402
from objcg_proof.prove.verify import VerifyOptions, verify_path  # noqa: E402
from test_objcg_attach_race import attach_race_model  # noqa: E402

DESIGNS = ("objcg_v2", "objcg_v3", "objcg_v4", "objcg_v5")


class _Measured:
    """The LKMM encoder's size and time for the run in progress (a wrapper, not a change)."""

    def __init__(self) -> None:
        self.reset()
        original = lkmm.LinuxKernelMemoryModel.encode
        measured = self

        def encode(model: lkmm.LinuxKernelMemoryModel):  # type: ignore[no-untyped-def]
            start = time.perf_counter()
            out = original(model)
            measured.encode_s = time.perf_counter() - start
            measured.accesses = sum(1 for n in model.nodes if n.kind != "F")
            measured.fences = sum(1 for n in model.nodes if n.kind == "F")
            return out

        lkmm.LinuxKernelMemoryModel.encode = encode  # type: ignore[method-assign]

    def reset(self) -> None:
        self.encode_s = 0.0
        self.accesses = 0
        self.fences = 0


def main(designs: list[str]) -> None:
    measured = _Measured()
    print(f"{'design':<10} {'run':<12} {'verdict':<9} {'accesses':>8} {'fences':>6} {'encode s':>9} {'total s':>8} "
          f"{'x SC':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for design in designs:
            path = str(attach_race_model(design, Path(tmp)))
            sc_total = 0.0
            for label, memory_model, wmb in (("sc", "sc", 0), ("lkmm", "lkmm", 0), ("lkmm+wmb", "lkmm", 1)):
                measured.reset()
                options = VerifyOptions(memory_model=memory_model, only=("lost_update",),
                                        defines=(("ATTACH_WMB", wmb),))
                start = time.perf_counter()
                result = verify_path(path, SourceCache(), options)
                total = time.perf_counter() - start
                if memory_model == "sc":
                    sc_total = total
                ratio = f"{total / sc_total:6.1f}" if memory_model != "sc" and sc_total else f"{'':>6}"
                print(f"{design:<10} {label:<12} {result.properties[0].status:<9} {measured.accesses or '-':>8} "
                      f"{measured.fences or '-':>6} {measured.encode_s:9.2f} {total:8.2f} {ratio}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or list(DESIGNS))
