"""Measure `objcg-prove --jobs N` against `--jobs 1` on the same models and print the speed-up
(asserts nothing).

    python3 benchmarks/jobs.py [--jobs 1,2] [--repeat N] [MODEL...]   (default: models/objcg_*.dsl)

Each run is a fresh `python -m objcg_proof --json` process of this checkout; the job counts
take turns (the order flips on every repetition, so a burst of load from other processes hits
both alike). It prints each run's wall time and CPU time (the CPU of the process and its
workers), the medians, the ratio of the wall medians against the first job count, and the load
average before and after, and how much parallelism the machine gives right now: two busy
loops side by side against one (other processes on a shared machine slow every figure). A run
whose statuses or trace lengths differ from the first job count's is flagged with `!`.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(jobs: int, models: list[str]) -> tuple[float, float, list[tuple[str, str, str, int]]]:
    """One run: wall seconds, CPU seconds (children), and each property's verdict."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "objcg_proof", "--json", "--jobs", str(jobs), *models],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 1, 3):
        sys.exit(f"objcg-prove --jobs {jobs} exited {proc.returncode}:\n{proc.stderr}")
    rows = json.loads(proc.stdout)["results"]
    return wall, cpu, [(r["model"], r["property"], r["status"], len(r["trace"])) for r in rows]


BUSY = "n = 0\nfor i in range(20_000_000): n += i"


def parallelism() -> float:
    """How many busy loops the machine runs at once: one alone against two side by side."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", BUSY], check=True)
    one = time.perf_counter() - start
    start = time.perf_counter()
    both = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(2)]
    for proc in both:
        proc.wait()
    return 2 * one / (time.perf_counter() - start)


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", default="1,2", help="job counts to compare, the first is the base (default 1,2)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each job count (default 3)")
    ap.add_argument("models", nargs="*")
    args = ap.parse_args(argv)
    counts = [int(j) for j in args.jobs.split(",")]
    models = args.models or sorted(glob.glob(str(ROOT / "models" / "objcg_*.dsl")))
    print(f"{len(models)} models, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before, "
          f"two busy loops run {parallelism():.2f}x as fast as one")
    walls: dict[int, list[float]] = {j: [] for j in counts}
    cpus: dict[int, list[float]] = {j: [] for j in counts}
    base: list[tuple[str, str, str, int]] | None = None
    for i in range(args.repeat):
        for jobs in (counts if i % 2 == 0 else counts[::-1]):
            wall, cpu, verdicts = run(jobs, models)
            walls[jobs].append(wall)
            cpus[jobs].append(cpu)
            base = base if base is not None else verdicts
            flag = "" if verdicts == base else "  ! statuses or trace lengths differ"
            print(f"  run {i + 1}  --jobs {jobs:<3} wall {wall:6.2f}s  cpu {cpu:6.2f}s{flag}")
    first = statistics.median(walls[counts[0]])
    print(f"medians of {args.repeat} run(s):")
    for jobs in counts:
        wall = statistics.median(walls[jobs])
        print(f"  --jobs {jobs:<3} wall {wall:6.2f}s  cpu {statistics.median(cpus[jobs]):6.2f}s  "
              f"speed-up {first / wall:.2f}x")
    print(f"load average {os.getloadavg()[0]:.2f} after, two busy loops run {parallelism():.2f}x as fast as one")


if __name__ == "__main__":
    main(sys.argv[1:])
