"""Time each stage before the solver (parse, resolve, unroll, encode) on generated models of
growing size, and fit how the time grows (asserts nothing).

    python3 benchmarks/frontend.py [--stages parse,resolve,unroll,encode] [--max-seconds S] [SHAPE...]

Shapes (default: all): `threads` (N threads of one statement), `statements` (one thread of N
statements), `locals` (one thread declaring N locals), `procs` (N procedures, each called
once), `chain` (one expression `x + 1 + ... + 1` of N terms). Sizes double until a stage takes
more than --max-seconds (default 10). For each shape and stage it prints the seconds per size
and the exponent k of time ~ size^k fitted over the larger sizes (1: linear, 2: quadratic).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from objcg_proof.lang.diagnostics import SourceCache  # noqa: E402
from objcg_proof.lang.parser import load_model  # noqa: E402
from objcg_proof.lang.resolve import resolve  # noqa: E402
from objcg_proof.prove.encode import encode  # noqa: E402
from objcg_proof.prove.unroll import unroll  # noqa: E402

HEADER = "shared word x = 0;\nshared word y = 0;\n"


def threads(n: int) -> str:
    return HEADER + "".join(f"thread T{i} {{ x = {i % 7}; }}\n" for i in range(n))


def statements(n: int) -> str:
    body = "".join(f"  x = {i % 7};\n" for i in range(n))
    return HEADER + f"thread A {{\n{body}}}\nthread B {{ y = 1; }}\n"


def locals_(n: int) -> str:
    body = "".join(f"  word v{i} = {i % 7};\n" for i in range(n))
    return HEADER + f"thread A {{\n{body}  x = v0;\n}}\nthread B {{ y = 1; }}\n"


def procs(n: int) -> str:
    defs = "".join(f"proc void p{i}(void) {{ x = {i % 7}; }}\n" for i in range(n))
    calls = "".join(f"  p{i}();\n" for i in range(n))
    return HEADER + defs + f"thread A {{\n{calls}}}\nthread B {{ y = 1; }}\n"


def chain(n: int) -> str:
    return HEADER + f"thread A {{ word v = 0; v = v{' + 1' * n}; x = v; }}\nthread B {{ y = 1; }}\n"


SHAPES: dict[str, Callable[[int], str]] = {
    "threads": threads, "statements": statements, "locals": locals_, "procs": procs, "chain": chain,
}
STAGES = ("parse", "resolve", "unroll", "encode")


def measure(text: str, stages: tuple[str, ...], folder: Path) -> dict[str, float]:
    path = folder / "m.dsl"
    path.write_text(text, encoding="utf-8")
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    module = load_model(str(path), SourceCache())
    times["parse"] = time.perf_counter() - t0
    if "resolve" not in stages:
        return times
    t0 = time.perf_counter()
    program = resolve(module)
    times["resolve"] = time.perf_counter() - t0
    if "unroll" not in stages:
        return times
    t0 = time.perf_counter()
    events = unroll(program)
    times["unroll"] = time.perf_counter() - t0
    if "encode" not in stages:
        return times
    t0 = time.perf_counter()
    encode(events)
    times["encode"] = time.perf_counter() - t0
    return times


def exponent(points: list[tuple[int, float]]) -> float | None:
    """Least-squares slope of log(time) against log(size), over the sizes that took > 5 ms."""
    pts = [(math.log(n), math.log(t)) for n, t in points if t > 0.005]
    if len(pts) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    var = sum((x - mx) ** 2 for x, _ in pts)
    return sum((x - mx) * (y - my) for x, y in pts) / var if var else None


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("shapes", nargs="*", metavar="SHAPE", help=", ".join(SHAPES))
    p.add_argument("--stages", default=",".join(STAGES))
    p.add_argument("--start", type=int, default=250)
    p.add_argument("--max-size", type=int, default=64000)
    p.add_argument("--max-seconds", type=float, default=10.0)
    args = p.parse_args(argv)
    stages = tuple(s for s in STAGES if s in args.stages.split(","))
    shapes = args.shapes or list(SHAPES)
    unknown = [s for s in shapes if s not in SHAPES]
    if unknown:
        p.error(f"unknown shape {unknown[0]}: expected one of {', '.join(SHAPES)}")
    with tempfile.TemporaryDirectory() as tmp:
        for shape in shapes:
            rows: dict[str, list[tuple[int, float]]] = {s: [] for s in stages}
            n = args.start
            print(f"{shape}:")
            print(f"  {'size':>7} " + " ".join(f"{s:>9}" for s in stages))
            while n <= args.max_size:
                times = measure(SHAPES[shape](n), stages, Path(tmp))
                for s, t in times.items():
                    rows[s].append((n, t))
                print(f"  {n:>7} " + " ".join(f"{times[s]:>8.3f}s" if s in times else f"{'-':>9}" for s in stages),
                      flush=True)
                if max(times.values()) > args.max_seconds or sum(times.values()) > 2 * args.max_seconds:
                    break
                n *= 2
            fits = []
            for s in stages:
                k = exponent(rows[s][-3:])
                fits.append(f"{s} n^{k:.2f}" if k is not None else f"{s} (too fast to fit)")
            print("  growth over the largest sizes: " + ", ".join(fits))


if __name__ == "__main__":
    main(sys.argv[1:])
