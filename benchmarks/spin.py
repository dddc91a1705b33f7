"""objcg-prove against SPIN on objcg-prove's own Promela export, side by side (asserts nothing).

    python3 benchmarks/spin.py [--repeat N] [--timeout S] [MODEL...]
    python3 benchmarks/spin.py --growth NAME=LO..HI [--model FILE] [-D NAME=VALUE ...]

What a user would run instead of objcg-prove on one of our models is SPIN on the export, so
that is the baseline: for each model, two whole processes, timed alternately (the order flips
on every repetition, so a burst of load from other processes hits both alike):

- objcg-prove: `python3 -m objcg_proof --json MODEL` (parse to verdicts, traces included);
- SPIN: `spin -a`, `gcc`, `./pan` on the export, with the options tests/oracles/test_spin.py
  uses (survey mode: every assertion and deadlock in one search; COLLAPSE; no partial-order
  reduction, which the export's end-state labels need). The export itself is made beforehand,
  in this process, and not timed.

It prints CPU seconds (the figure that stays steady on a shared machine; wall seconds next to
it), the ratio objcg-prove / SPIN of the medians (above 1: objcg-prove is slower), and the
engines alone: the prover's solving (the sum of its per-property times) against pan's search.
Before it prints a time it compares the verdicts: the properties SPIN finds violated must be
the ones objcg-prove reports violated; a model where they differ prints `VERDICTS DIFFER` and
no ratio (a faster tool that changes a verdict is not faster, it is wrong). SPIN explores the
unbounded export; where objcg-prove says `bounded`, only "not violated within the bound" is
compared.

--growth sweeps one param (or `bound`) of one model (default tests/narrow/objcg_v5.dsl) over
LO..HI, times both tools at each value the same way, and fits the exponent k of
time ~ value^k by least squares on the log-log points (1: linear, 2: quadratic).
"""

from __future__ import annotations

import argparse
import compileall
import glob
import json
import math
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from objcg_proof.lang.diagnostics import SourceCache  # noqa: E402
from objcg_proof.oracles.promela.exporter import export_path  # noqa: E402

PAN_DEPTH = 1_000_000
SURVEY = re.compile(r"^objcg-prove: property (\d+) \(", re.MULTILINE)
# as the export's header tells users to build pan; -O0 made pan 2.6x slower on the narrow v3
GCC = ["gcc", "-O2", "-w", "-fwrapv", "-DSAFETY", "-DCOLLAPSE", "-DNOREDUCE", "-DPRINTF", "-DVECTORSZ=4096"]


@dataclass
class Run:
    wall: float = 0.0
    cpu: float = 0.0
    engine: float = 0.0       # the prover's solving, or pan's search
    violated: frozenset[str] | None = None   # None: did not finish
    bounded: frozenset[str] = frozenset()
    states: int = 0
    note: str = ""


def child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(command: list[str], cwd: Path, timeout: float) -> tuple[subprocess.CompletedProcess[str] | None, float, float]:
    cpu0, wall0 = child_cpu(), time.perf_counter()
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, time.perf_counter() - wall0, child_cpu() - cpu0
    return done, time.perf_counter() - wall0, child_cpu() - cpu0


def defines_args(defines: list[tuple[str, int]], bound: int | None) -> list[str]:
    args = [f"-D{name}={value}" for name, value in defines]
    return args + (["--bound", str(bound)] if bound is not None else [])


def prover(model: str, defines: list[tuple[str, int]], bound: int | None, timeout: float) -> Run:
    cmd = [sys.executable, "-m", "objcg_proof", "--json", "--timeout", str(timeout), *defines_args(defines, bound), model]
    done, wall, cpu = timed(cmd, ROOT, timeout)
    if done is None:
        return Run(wall, cpu, note=f"over {timeout:g}s")
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        return Run(wall, cpu, note=f"exit {done.returncode}: {done.stderr.strip()[-200:]}")
    results = report["results"]
    if any(r["status"] == "unknown" for r in results):
        return Run(wall, cpu, note="unknown: " + "; ".join(r["reason"] for r in results if r["status"] == "unknown"))
    return Run(wall, cpu, sum(r["time_s"] for r in results),
               frozenset(r["property"] for r in results if r["status"] == "violated"),
               frozenset(r["property"] for r in results if r["status"] == "bounded"))


def spin(model: str, defines: list[tuple[str, int]], bound: int | None, timeout: float) -> Run:
    promela = export_path(str(ROOT / model), SourceCache(), tuple(defines), bound)
    work = Path(tempfile.mkdtemp(prefix="spin-bench-"))
    try:
        (work / "model.pml").write_text(promela.text, encoding="utf-8")
        cpu0, wall0 = child_cpu(), time.perf_counter()
        pan_cpu = pan_wall = 0.0
        out = ""
        for cmd in (["spin", "-DPROPERTY=-1", "-a", "model.pml"], GCC + ["-o", "pan", "pan.c"],
                    ["./pan", f"-m{PAN_DEPTH}", "-c0", "-n", "-w22"]):
            left = timeout - (time.perf_counter() - wall0)
            done, wall, cpu = timed(cmd, work, max(1.0, left))
            if done is None:
                return Run(time.perf_counter() - wall0, child_cpu() - cpu0, note=f"over {timeout:g}s ({cmd[0]})")
            if cmd[0] == "./pan":
                pan_cpu, pan_wall, out = cpu, wall, done.stdout
            elif done.returncode != 0:
                return Run(note=f"{cmd[0]} failed: {done.stderr.strip()[-200:]}")
        wall, cpu = time.perf_counter() - wall0, child_cpu() - cpu0
    finally:
        shutil.rmtree(work, ignore_errors=True)
    errors = re.search(r"errors: (\d+)", out)
    states = re.search(r"(\d[\d.e+]*) states, stored", out)   # pan prints 1.2e+08 past 10^8
    if errors is None or states is None or "max search depth too small" in out:
        return Run(wall, cpu, note="pan did not finish its search")
    violated = {promela.properties[int(n) - 1] for n in SURVEY.findall(out)}
    if int(errors.group(1)) > 0:
        violated.add("deadlock")
    return Run(wall, cpu, pan_cpu, frozenset(violated), states=int(float(states.group(1))))


def agree(p: Run, s: Run) -> bool:
    """SPIN's violations are the prover's; a property the prover leaves bounded is compared
    only as "not violated within the bound"."""
    assert p.violated is not None and s.violated is not None
    return p.violated == s.violated - p.bounded


def measure(model: str, defines: list[tuple[str, int]], bound: int | None, repeat: int, timeout: float) -> tuple[list[Run], list[Run]]:
    ps: list[Run] = []
    ss: list[Run] = []
    for i in range(repeat):
        order = (prover, spin) if i % 2 == 0 else (spin, prover)
        for tool in order:
            run = tool(model, defines, bound, timeout)
            (ps if tool is prover else ss).append(run)
            if run.violated is None:
                return ps, ss
    return ps, ss


def median(runs: list[Run], field: str) -> float:
    return statistics.median(getattr(r, field) for r in runs)


def verdict_line(ps: list[Run], ss: list[Run]) -> tuple[str, float | None]:
    """The comparison printed after the times, and the CPU ratio (None: no ratio to give)."""
    bad = [r.note for r in ps + ss if r.violated is None]
    if bad:
        return "not compared: " + bad[0], None
    if not all(agree(p, s) for p, s in zip(ps, ss)):
        p, s = ps[0], ss[0]
        return (f"VERDICTS DIFFER: objcg-prove violated {sorted(p.violated or ())}, "
                f"SPIN {sorted(s.violated or ())}"), None
    return f"{sorted(ps[0].violated or ()) or 'nothing violated'}; pan stored {ss[0].states:,} states", \
        median(ps, "cpu") / median(ss, "cpu")


def table(models: list[str], repeat: int, timeout: float) -> None:
    print(f"{'model':<40} {'prover cpu':>10} {'(wall)':>8} {'SPIN cpu':>9} {'(wall)':>8} {'ratio':>7} "
          f"{'solve':>8} {'pan':>7} {'ratio':>7}  verdicts")
    for model in models:
        ps, ss = measure(model, [], None, repeat, timeout)
        words, ratio = verdict_line(ps, ss)
        if ratio is None:
            print(f"{model:<40} {words}", flush=True)
            continue
        engine = median(ps, "engine") / max(median(ss, "engine"), 1e-3)
        print(f"{model:<40} {median(ps, 'cpu'):>10.2f} {median(ps, 'wall'):>8.2f} {median(ss, 'cpu'):>9.2f} "
              f"{median(ss, 'wall'):>8.2f} {ratio:>6.2f}x {median(ps, 'engine'):>8.2f} {median(ss, 'engine'):>7.2f} "
              f"{engine:>6.1f}x  {words}", flush=True)


def fit_exponent(points: list[tuple[int, float]]) -> float | None:
    """k of time ~ value^k, least squares on log-log (None with fewer than two usable points)."""
    usable = [(math.log(x), math.log(t)) for x, t in points if x > 0 and t > 0]
    if len(usable) < 2:
        return None
    mx = sum(x for x, _ in usable) / len(usable)
    my = sum(y for _, y in usable) / len(usable)
    sxx = sum((x - mx) ** 2 for x, _ in usable)
    return None if sxx == 0 else sum((x - mx) * (y - my) for x, y in usable) / sxx


def growth(model: str, name: str, lo: int, hi: int, defines: list[tuple[str, int]], repeat: int, timeout: float) -> None:
    print(f"{model}: {name} from {lo} to {hi}" + (f", with {' '.join(f'{n}={v}' for n, v in defines)}" if defines else ""))
    print(f"{name:>10} {'prover cpu':>10} {'SPIN cpu':>9} {'ratio':>7} {'pan states':>11}  verdicts")
    points_p: list[tuple[int, float]] = []
    points_s: list[tuple[int, float]] = []
    for value in range(lo, hi + 1):
        ds = [d for d in defines if d[0] != name] + ([(name, value)] if name != "bound" else [])
        ps, ss = measure(model, ds, value if name == "bound" else None, repeat, timeout)
        words, ratio = verdict_line(ps, ss)
        if ratio is None:
            print(f"{value:>10} {words}", flush=True)
            continue
        points_p.append((value, median(ps, "cpu")))
        points_s.append((value, median(ss, "cpu")))
        print(f"{value:>10} {median(ps, 'cpu'):>10.2f} {median(ss, 'cpu'):>9.2f} {ratio:>6.2f}x {ss[0].states:>11,}  {words}",
              flush=True)
    for tool, points in (("objcg-prove", points_p), ("SPIN", points_s)):
        k = fit_exponent(points)
        print(f"{tool}: time ~ {name}^k, k = " + ("n/a" if k is None else f"{k:.2f}") + f" over {len(points)} points")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="*")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per run of either tool")
    ap.add_argument("--growth", metavar="NAME=LO..HI")
    ap.add_argument("--model", default="tests/narrow/objcg_v5.dsl")
    ap.add_argument("-D", action="append", default=[], metavar="NAME=VALUE")
    args = ap.parse_args()
    for tool in ("spin", "gcc"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (Debian packages spin and gcc)")
    # as `pip install` does: the package's bytecode is written before the first run, so no
    # timed process compiles it (an environment with PYTHONDONTWRITEBYTECODE never would)
    compileall.compile_dir(str(ROOT / "objcg_proof"), quiet=1)
    print(f"load average {os.getloadavg()[0]:.2f}; {args.repeat} run(s) of each, alternated; CPU seconds, medians")
    if args.growth:
        m = re.fullmatch(r"(\w+)=(\d+)\.\.(\d+)", args.growth)
        if m is None:
            sys.exit("--growth takes NAME=LO..HI, e.g. ALLOCS=1..12 or bound=2..8")
        defines = [(d.split("=")[0], int(d.split("=")[1])) for d in args.D]
        growth(args.model, m.group(1), int(m.group(2)), int(m.group(3)), defines, args.repeat, args.timeout)
        return
    models = args.models or sorted(glob.glob("models/*.dsl", root_dir=ROOT)) + \
        sorted(glob.glob("models/examples/*.dsl", root_dir=ROOT)) + sorted(glob.glob("tests/narrow/*.dsl", root_dir=ROOT))
    table(models, args.repeat, args.timeout)


if __name__ == "__main__":
    main()
