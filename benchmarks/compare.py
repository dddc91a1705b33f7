"""Compare two versions of the prover side by side on the same models (asserts nothing).

    python3 benchmarks/compare.py [--base REV|DIR] [--new REV|DIR] [--repeat N] [MODEL...]

Each version is a source tree: a directory, or a git revision extracted to a temporary
directory (default: base = HEAD, new = this working tree). Every model is verified by both
versions in fresh subprocesses, alternately (the order flips on every repetition, so a burst of
load from other processes hits both alike), and the table prints wall and CPU seconds of each
and the ratio new/base of the medians. CPU time (the z3 work of the child) is the steadier
figure on a shared machine. A verdict that differs between the two versions is flagged with
`!`: a faster prover that changes a verdict is not faster, it is wrong.
"""

from __future__ import annotations

import argparse
import glob
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from objcg_proof.lang.diagnostics import SourceCache
from objcg_proof.prove.verify import VerifyOptions, verify_path
wall, cpu = time.perf_counter(), time.process_time()
result = verify_path(sys.argv[2], SourceCache(), VerifyOptions())
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
print(json.dumps({"wall": wall, "cpu": cpu,
                  "verdicts": {p.name: p.status + ("/%d" % len(p.trace.steps) if p.trace else "")
                               for p in result.properties},
                  "props": {p.name: round(p.time_s, 2) for p in result.properties}}))
"""


def tree(spec: str, tmp: Path) -> Path:
    """A source tree for `spec`: an existing directory, or a git revision extracted into tmp."""
    if Path(spec).is_dir():
        return Path(spec).resolve()
    out = tmp / spec.replace("/", "_")
    out.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", spec], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out


def run(root: Path, model: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(root), model], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="HEAD", help="git revision or directory (default HEAD)")
    ap.add_argument("--new", default=str(ROOT), help="git revision or directory (default: this working tree)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each version per model (default 1)")
    ap.add_argument("models", nargs="*")
    args = ap.parse_args(argv)
    models = args.models or sorted(glob.glob(str(ROOT / "models" / "*.dsl"))) + sorted(glob.glob(str(ROOT / "models" / "examples" / "*.dsl")))
    with tempfile.TemporaryDirectory() as tmp:
        roots = {"base": tree(args.base, Path(tmp)), "new": tree(args.new, Path(tmp))}
        print(f"base = {args.base}, new = {args.new}, {args.repeat} run(s) each, medians")
        print(f"{'model':<22} {'base wall':>9} {'new wall':>9} {'ratio':>6}   {'base cpu':>8} {'new cpu':>8} {'ratio':>6}")
        totals = {k: [0.0, 0.0] for k in roots}
        for model in models:
            runs: dict[str, list[dict]] = {"base": [], "new": []}
            for i in range(args.repeat):
                for name in (("base", "new") if i % 2 == 0 else ("new", "base")):
                    runs[name].append(run(roots[name], model))
            med = {k: (statistics.median(r["wall"] for r in v), statistics.median(r["cpu"] for r in v)) for k, v in runs.items()}
            for k in roots:
                totals[k][0] += med[k][0]
                totals[k][1] += med[k][1]
            verdicts = {k: {p: s.split("/")[0] for p, s in v[0]["verdicts"].items()} for k, v in runs.items()}
            flag = "" if verdicts["base"] == verdicts["new"] else "  ! verdicts differ: " + json.dumps(verdicts)
            b, n = med["base"], med["new"]
            print(f"{Path(model).name:<22} {b[0]:>8.2f}s {n[0]:>8.2f}s {n[0] / max(b[0], 1e-9):>6.2f}   "
                  f"{b[1]:>7.2f}s {n[1]:>7.2f}s {n[1] / max(b[1], 1e-9):>6.2f}{flag}")
        b, n = totals["base"], totals["new"]
        print(f"{'total':<22} {b[0]:>8.2f}s {n[0]:>8.2f}s {n[0] / max(b[0], 1e-9):>6.2f}   "
              f"{b[1]:>7.2f}s {n[1]:>7.2f}s {n[1] / max(b[1], 1e-9):>6.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
