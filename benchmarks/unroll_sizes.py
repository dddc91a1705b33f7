"""Measure and print what unrolling produces, against the limits of unroll.py (asserts nothing).

    python3 benchmarks/unroll_sizes.py [--large]

For every shipped model, at its own bound and at bounds 4 and 6: the units counted against
unroll.MAX_UNROLLED (statements evaluated and loop iterations started), steps, events and terms
(against unroll.MAX_TERMS), and the encoder's constraint pairs (against unroll.MAX_PAIRS) with
the location that needs the most. With --large, also the front end's time (parse, resolve, unroll,
encode) on generated models: 50 threads reading and writing one word, 1,000 threads,
20,000 statements and 10,000 locals.
"""

from __future__ import annotations

import glob
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from objcg_proof.lang.diagnostics import SourceCache  # noqa: E402
from objcg_proof.lang.parser import load_model  # noqa: E402
from objcg_proof.lang.resolve import resolve  # noqa: E402
from objcg_proof.prove import encode
from objcg_proof.prove import unroll  # noqa: E402

# The encoder's reads-from constraints grow with reads x writes x writes of one location: 50
# threads that each read and write one word already take seconds to encode, and unroll.unroll
# refuses them (NOTE(encode-limit)); they are encoded here regardless, to measure (the
# 1000-thread model here only writes).
LARGE = {
    "50 threads r+w": "shared word x = 0;\n" + "".join(f"thread T{i} {{ word v = x; x = v + 1; }}\n" for i in range(50)),
    "1000 threads": "shared word x = 0;\n" + "".join(f"thread T{i} {{ x = 1; }}\n" for i in range(1000)),
    "20000 statements": "shared word x = 0;\nthread A {\n" + "".join(f"  x = {i % 7};\n" for i in range(20000)) + "}\n",
    "10000 locals": "shared word x = 0;\nthread A {\n" + "".join(f"  word v{i} = x;\n" for i in range(10000)) + "}\n",
}


def sizes() -> None:
    paths = sorted(glob.glob(str(ROOT / "models" / "*.dsl"))) + sorted(glob.glob(str(ROOT / "models" / "examples" / "*.dsl")))
    print(f"limits: {unroll.MAX_UNROLLED:,} units, {unroll.MAX_TERMS:,} terms, {unroll.MAX_PAIRS:,} pairs")
    print(f"{'model':<22} {'bound':>5} {'units':>6} {'steps':>6} {'events':>6} {'terms':>6} {'pairs':>7}  most pairs")
    for path in paths:
        module = load_model(path, SourceCache())
        for bound in (None, 4, 6):
            unroller = unroll.Unroller(resolve(module, {}, bound))
            prog = unroller.run()
            pairs = unroll.encoding_pairs(prog)
            top = max(pairs, key=lambda c: pairs[c][2])
            reads, writes, most = pairs[top]
            print(f"{Path(path).name:<22} {prog.bound:>5} {unroller.unrolled:>6} {len(prog.steps):>6} "
                  f"{len(prog.events):>6} {unroller.tb.size():>6} {sum(p for _, _, p in pairs.values()):>7}  "
                  f"{prog.layout.locations[top].name} ({reads} reads, {writes} writes: {most})")


def large(tmp: Path) -> None:
    print(f"{'model':<18} {'parse':>7} {'resolve':>7} {'unroll':>7} {'encode':>7}  (encoded even past MAX_PAIRS)")
    for name, text in LARGE.items():
        path = tmp / (name.replace(" ", "_") + ".dsl")
        path.write_text(text, encoding="utf-8")
        t0 = time.perf_counter()
        module = load_model(str(path), SourceCache())
        t1 = time.perf_counter()
        program = resolve(module, {}, None)
        t2 = time.perf_counter()
        events = unroll.Unroller(program).run()
        t3 = time.perf_counter()
        encode.encode(events)
        t4 = time.perf_counter()
        print(f"{name:<18} {t1 - t0:>6.2f}s {t2 - t1:>6.2f}s {t3 - t2:>6.2f}s {t4 - t3:>6.2f}s")


if __name__ == "__main__":
    sizes()
    if "--large" in sys.argv[1:]:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            large(Path(tmp))
