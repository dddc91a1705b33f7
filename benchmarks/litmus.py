"""`objcg-prove litmus` on the kernel's 47 litmus tests, as one whole process (asserts nothing).

    python3 benchmarks/litmus.py [--repeat N]

Runs `python3 -m objcg_proof litmus --json` on ../shared/lkmm/litmus/kernel N times and prints
the CPU seconds of each run and their median, beside herd7's figure for the same 47 tests on
this machine (../shared/lkmm/litmus/README.md: about 4 s in all; issue 12: about 3.7 s). Before
it prints a time it compares every verdict with herd7's (expected.tsv; for the two tests herd7
cannot read, the Never of their Result: line): a faster run that changes a verdict is not
faster, it is wrong, and prints VERDICTS DIFFER instead. Then one run with `--prover`: the z3
encoding's time on the tests the DSL can say (the sum and the slowest of its per-test times, and
the whole process), and how many verdicts agree with the evaluator's.
"""

from __future__ import annotations

import argparse
import compileall
import csv
import json
import resource
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LITMUS = ROOT.parent / "shared" / "lkmm" / "litmus"
HERD7_S = 3.7   # herd7 7.57 on the 47 tests, this machine (issue 12)


def child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    if not LITMUS.is_dir():
        sys.exit(f"the kernel's litmus tests are not at {LITMUS}")
    compileall.compile_dir(str(ROOT / "objcg_proof"), quiet=1)   # as pip install does
    with open(LITMUS / "expected.tsv", encoding="utf-8") as f:
        expected = {row["path"]: row["herd7"] if row["herd7"] != "unprocessed" else row["result"]
                    for row in csv.DictReader(f, delimiter="\t")}
    times = []
    for _ in range(args.repeat):
        before = child_cpu()
        done = subprocess.run([sys.executable, "-m", "objcg_proof", "litmus", "--json", str(LITMUS / "kernel")],
                              cwd=ROOT, capture_output=True, text=True)
        times.append(child_cpu() - before)
        got = {str(Path(r["file"]).relative_to(LITMUS)): r["verdict"] for r in json.loads(done.stdout)["results"]}
        if got != expected:
            wrong = sorted(p for p in expected if got.get(p) != expected[p])
            sys.exit(f"VERDICTS DIFFER on {len(wrong)} tests: {', '.join(wrong)}")
    median = statistics.median(times)
    print(f"47 kernel litmus tests, one process each run, {args.repeat} runs: verdicts as herd7's")
    print("CPU s per run: " + " ".join(f"{t:.2f}" for t in times))
    print(f"median {median:.2f} s; herd7's recorded figure {HERD7_S:.1f} s: ratio {median / HERD7_S:.2f}x")
    before = child_cpu()
    done = subprocess.run([sys.executable, "-m", "objcg_proof", "litmus", "--json", "--prover", str(LITMUS / "kernel")],
                          cwd=ROOT, capture_output=True, text=True)
    whole = child_cpu() - before
    proved = [r["prover"] for r in json.loads(done.stdout)["results"] if r["prover"]["verdict"] is not None]
    agree = sum(1 for p in proved if p["agrees"])
    times = [p["time_s"] for p in proved]
    print(f"--prover: {len(proved)} tests through the z3 encoding, {agree} agree with the evaluator; "
          f"z3 path {sum(times):.2f} s in all, slowest {max(times):.2f} s; whole process {whole:.2f} s CPU "
          f"(exit {done.returncode})")


if __name__ == "__main__":
    main()
