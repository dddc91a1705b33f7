#!/usr/bin/env python3
"""The long fuzz run (docs/fuzzing.md): the inputs and the oracle of tests/fuzz/test_fuzz.py, many more.

    python3 scripts/fuzz.py --count 100000 --seed 1 [--jobs N] [--out DIR] [--limit S]

Runs the hand-written odd programs of issue 8 (with the pathological sizes), then cases 0 ..
COUNT-1 of the seed (tests/fuzz/fuzz_inputs.py), each through `objcg_proof.cli.main` in a worker
process (tests/fuzz/fuzz_oracle.py; `--jobs` workers, default 1). Counts every outcome (command,
exit status or how it died, the last stage entered) and every finding; saves each distinct
finding (one per key: kind, exception type and place, or message shape), with its reproducer
minimised, to DIR (default fuzz-findings/), one file each, and DIR/summary.txt. Prints the
summary table at the end; Ctrl-C stops early and still minimises, saves and prints. Exit status
0 when nothing was found, 1 otherwise.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "fuzz"))
from fuzz_inputs import Case, case, odd_cases, shipped  # noqa: E402
from fuzz_oracle import Finding, Worker, findings, minimise, reproducer  # noqa: E402


class Run:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.lock = threading.Lock()
        self.next = 0
        self.done = 0
        self.outcomes: Counter[tuple[str, str]] = Counter()
        self.stages: Counter[str] = Counter()
        self.kinds: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()
        self.distinct: dict[str, tuple[Finding, Case, str, int]] = {}
        self.stopping = False

    def work(self, worker: Worker, inputs: list[Case], gate_files: dict[str, bytes], models: dict[str, bytes]) -> None:
        while not self.stopping:
            if self.args.time and time.monotonic() - self.start > self.args.time:
                return
            with self.lock:
                i = self.next
                self.next += 1
            total = len(inputs) + self.args.count
            if i >= total:
                return
            c, label = (inputs[i], f"odd {i}") if i < len(inputs) else \
                (case(self.args.seed, i - len(inputs), models, gate_files), f"case {i - len(inputs)}")
            out = worker.run(c)
            found = findings(c, out)
            with self.lock:
                self.done += 1
                result = out.died or ("exception" if out.exception else f"exit {out.status}")
                self.outcomes[(c.mode(), result)] += 1
                self.stages[f"{c.mode()}: {out.stage}"] += 1
                self.seconds[c.mode()] += out.seconds
                for f in found:
                    self.kinds[f.kind] += 1
                    first = self.distinct.get(f.key)
                    self.distinct[f.key] = (f, c, label, 1) if first is None else (*first[:3], first[3] + 1)
                    if first is None:   # saved at once, as found: a run killed later loses nothing
                        raw = Path(self.args.out) / "found" / f"{len(self.distinct):03d}-{f.kind}.txt"
                        raw.parent.mkdir(parents=True, exist_ok=True)
                        raw.write_text(f"{label} of seed {self.args.seed}\n{reproducer(c, f)}\n", encoding="utf-8")
                if self.done % self.args.every == 0:
                    self.progress()

    def progress(self) -> None:
        spent = time.monotonic() - self.start
        print(f"[{self.done} inputs, {spent:.0f}s, {self.done / spent:.1f}/s] {len(self.distinct)} distinct findings",
              file=sys.stderr, flush=True)

    def run(self) -> int:
        args = self.args
        models = shipped()
        workers = [Worker(args.limit) for _ in range(args.jobs)]
        self.start = time.monotonic()
        try:
            gate_files = workers[0].gate_seed()
            inputs = odd_cases(slow=True) if args.odd else []
            threads = [threading.Thread(target=self.work, args=(w, inputs, gate_files, models), daemon=True)
                       for w in workers]
            for t in threads:
                t.start()
            try:
                while any(t.is_alive() for t in threads):
                    for t in threads:
                        t.join(0.5)
            except KeyboardInterrupt:
                self.stopping = True
                print("stopping: finishing the inputs under way", file=sys.stderr)
                for t in threads:
                    t.join()
            self.elapsed = time.monotonic() - self.start
            self.save(workers[0])
        finally:
            for w in workers:
                w.close()
        self.summary(sys.stdout)
        return 1 if self.distinct else 0

    def save(self, worker: Worker) -> None:
        out = Path(self.args.out)
        out.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.args.minimise_seconds
        slow = ("hang", "crash")   # minimised last: each of their tries takes seconds
        order = sorted(self.distinct.items(), key=lambda item: (item[1][0].kind in slow, item[0]))
        for n, (key, (f, c, label, count)) in enumerate(order, 1):
            runs = self.args.minimise_hangs if f.kind in slow else self.args.minimise
            share = time.monotonic() + max(0.0, deadline - time.monotonic()) / (len(order) - n + 1)   # a fair share each
            small = minimise(c, f, worker, runs=runs, deadline=share) if runs else c
            name = out / f"{n:03d}-{f.kind}.txt"
            name.write_text(f"{label} of seed {self.args.seed}; {count} input(s) with this finding\n"
                            + reproducer(small, f) + "\n", encoding="utf-8")
            files = out / f"{n:03d}-{f.kind}"   # the files themselves: cd there, run the command
            for file, data in small.files.items():
                (files / file).parent.mkdir(parents=True, exist_ok=True)
                (files / file).write_bytes(data)
            (files / "command").write_text(shlex.join(["objcg-prove", *small.argv]) + "\n", encoding="utf-8")
            self.distinct[key] = (f, small, f"{label} -> {name}", count)
        with open(out / "summary.txt", "w", encoding="utf-8") as summary:
            self.summary(summary)

    def summary(self, stream) -> None:  # type: ignore[no-untyped-def]
        w = stream.write
        w(f"\nfuzz: seed {self.args.seed}, {self.done} inputs in {self.elapsed:.0f}s "
          f"({self.done / max(self.elapsed, 1e-9):.1f} inputs/s, {self.args.jobs} worker(s), limit {self.args.limit:g}s)\n\n")
        w(f"{'command':10} {'outcome':24} {'inputs':>8}\n")
        for (mode, result), n in sorted(self.outcomes.items()):
            w(f"{mode:10} {result:24} {n:>8}\n")
        w(f"\n{'command: last stage entered':40} {'inputs':>8}\n")
        for stage, n in sorted(self.stages.items()):
            w(f"{stage:40} {n:>8}\n")
        w(f"\n{'command':10} {'seconds in main':>16}\n")
        for mode, s in sorted(self.seconds.items()):
            w(f"{mode:10} {s:>16.1f}\n")
        w(f"\n{'finding kind':20} {'inputs':>8}\n")
        for kind, n in sorted(self.kinds.items()):
            w(f"{kind:20} {n:>8}\n")
        w(f"\n{len(self.distinct)} distinct findings\n")
        for key, (f, _, label, count) in sorted(self.distinct.items()):
            w(f"  {count:>6}  {key}\n          {f.detail[:160]}\n          first: {label}\n")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--count", type=int, default=10000, help="generated inputs (default 10000)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--out", default="fuzz-findings", help="where the findings go (default fuzz-findings/)")
    p.add_argument("--limit", type=float, default=30.0, help="seconds per input before it is a hang (default 30)")
    p.add_argument("--minimise", type=int, default=300, help="oracle runs to minimise each finding (0: do not)")
    p.add_argument("--minimise-hangs", type=int, default=30,
                   help="oracle runs to minimise each hang or crash, each up to 5 s (default 30; 0: do not)")
    p.add_argument("--minimise-seconds", type=float, default=600,
                   help="time for minimising all findings together (default 600); the rest are saved as found")
    p.add_argument("--time", type=float, default=0, help="stop starting inputs after this many seconds (0: no limit)")
    p.add_argument("--no-odd", dest="odd", action="store_false", help="skip the hand-written odd programs")
    p.add_argument("--every", type=int, default=500, help="print progress every N inputs")
    args = p.parse_args()
    if args.count < 0 or args.jobs < 1 or args.limit <= 0:
        p.error("--count must be >= 0, --jobs >= 1, --limit > 0")
    # Ctrl-C, and kill -INT / -TERM, end the run early (a shell starts background jobs with
    # SIGINT ignored: take it back)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        return Run(args).run()
    except KeyboardInterrupt:   # a second signal while the findings were being minimised
        print("interrupted: the findings saved so far are in", args.out, file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
