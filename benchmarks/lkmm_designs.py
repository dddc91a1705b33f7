"""The designs under the LKMM, whole protocol, beside sequential consistency (asserts nothing).

    python3 benchmarks/lkmm_designs.py [-D NAME=VALUE ...] [DESIGN...]
        (default designs: objcg_prepatch, objcg_v1 ... objcg_v5; default setting: the smallest
        scenario, -D MIGRATIONS=1 -D ALLOCS=1 -D KALLOCS=0 -D EXIT_ALLOCS=0 -D LATE_FREES=0)

For each design, `objcg-prove prove` runs twice as a separate process, one after the other:
under sequential consistency and under the LKMM (`--memory-model lkmm`), with the same params.
Printed per design and property: both verdicts, and per design the wall-clock seconds of each
whole process and their ratio. The LKMM run asks its encodings at closure levels
(NOTE(closure-levels) in prove/verify.py); the level a verdict came from is not printed, it does
not change what the verdict means.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DESIGNS = ("objcg_prepatch", "objcg_v1", "objcg_v2", "objcg_v3", "objcg_v4", "objcg_v5")
SMALLEST = ("MIGRATIONS=1", "ALLOCS=1", "KALLOCS=0", "EXIT_ALLOCS=0", "LATE_FREES=0")


def run(design: str, defines: list[str], memory_model: str) -> tuple[dict[str, str], float]:
    cmd = [sys.executable, "-m", "objcg_proof", "prove", "--json", "--memory-model", memory_model]
    for d in defines:
        cmd += ["-D", d]
    cmd.append(str(ROOT / "models" / f"{design}.dsl"))
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t0
    try:
        report = json.loads(out.stdout)
    except json.JSONDecodeError:
        return {"(run)": f"error: {out.stderr.strip()[-200:]}"}, elapsed
    verdicts = {}
    for p in report.get("results", []):
        verdicts[p["property"]] = p["status"]
    if not verdicts:
        verdicts["(run)"] = f"error: {out.stderr.strip()[-200:]}"
    return verdicts, elapsed


def main(argv: list[str]) -> None:
    defines: list[str] = []
    designs: list[str] = []
    args = iter(argv)
    for a in args:
        if a == "-D":
            defines.append(next(args))
        else:
            designs.append(a)
    defines = defines or list(SMALLEST)
    print(f"setting: {' '.join('-D ' + d for d in defines)}")
    print(f"{'design':16} {'property':16} {'SC':10} {'LKMM':10}")
    for design in designs or DESIGNS:
        sc, sc_s = run(design, defines, "sc")
        lk, lk_s = run(design, defines, "lkmm")
        for name in dict.fromkeys([*sc, *lk]):
            print(f"{design:16} {name:16} {sc.get(name, '-'):10} {lk.get(name, '-'):10}")
        print(f"{design:16} {'(seconds)':16} {sc_s:<10.1f} {lk_s:<10.1f} LKMM/SC {lk_s / sc_s:.0f}x", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
