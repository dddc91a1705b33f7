"""oracles/lkmm.py against sequential consistency, on generated litmus tests.

Two facts of the LKMM give an oracle that shares nothing with the evaluator: every outcome of an
interleaving of the threads (sequential consistency) is an outcome the LKMM allows, since the
model is weaker; and with smp_mb() between every two accesses of every thread it allows no
more (tools/memory-model/Documentation/explanation.txt: full fences everywhere restore SC). The
interleavings are run here by a small interpreter of the generated operations, not by parsing
the litmus text.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

import pytest

from objcg_proof.lang.litmus_parser import parse_litmus
from objcg_proof.oracles.lkmm import final_states

SEED = 20261205
COUNT = 100
MAX_OPS = 6      # operations in a test, at most: a test of 9 takes a minute (every coherence order)
MAX_WRITES = 3   # writes to one location: five writes by RMWs are over the evaluator's 100,000 candidates


@dataclass(frozen=True)
class Op:
    kind: str          # write | read | xchg | cmpxchg | inc
    loc: str
    value: int = 0     # written (write, xchg), expected (cmpxchg)
    new: int = 0       # cmpxchg's new value
    reg: str = ""      # the register a read or a value-returning RMW assigns
    flavour: str = ""  # once | release | acquire | relaxed


def _c(op: Op) -> str:
    if op.kind == "write":
        return f"smp_store_release({op.loc}, {op.value});" if op.flavour == "release" else f"WRITE_ONCE(*{op.loc}, {op.value});"
    if op.kind == "read":
        return f"{op.reg} = smp_load_acquire({op.loc});" if op.flavour == "acquire" else f"{op.reg} = READ_ONCE(*{op.loc});"
    if op.kind == "xchg":
        return f"{op.reg} = xchg{'_relaxed' if op.flavour == 'relaxed' else ''}({op.loc}, {op.value});"
    if op.kind == "cmpxchg":
        return f"{op.reg} = cmpxchg({op.loc}, {op.value}, {op.new});"
    return f"atomic_inc({op.loc});"


def _generate(rng: random.Random) -> list[list[Op]]:
    locs = ["x", "y", "z"][: rng.randint(2, 3)]
    threads: list[list[Op]] = []
    writes: dict[str, int] = {}
    value = 0
    sizes = [rng.randint(1, 3) for _ in range(rng.randint(2, 3))]
    while sum(sizes) > MAX_OPS:
        sizes[sizes.index(max(sizes))] -= 1
    for size in sizes:
        ops: list[Op] = []
        for k in range(size):
            value += 1
            kind = rng.choice(["write", "write", "read", "read", "xchg", "cmpxchg", "inc"])
            loc = rng.choice(locs)
            if kind != "read" and writes.get(loc, 0) == MAX_WRITES:
                kind = "read"
            writes[loc] = writes.get(loc, 0) + (kind != "read")
            ops.append(Op(kind, loc, value if kind != "cmpxchg" else rng.choice([0, value - 1]), value,
                          f"r{k}", rng.choice(["once", "release", "acquire", "relaxed"])))
        threads.append(ops)
    return threads


def _litmus(threads: list[list[Op]], fenced: bool) -> str:
    locs = sorted({op.loc for ops in threads for op in ops})
    params = ", ".join(f"int *{x}" for x in locs)
    text = "C generated\n{}\n"
    for t, ops in enumerate(threads):
        regs = "".join(f"int {op.reg}; " for op in ops if op.reg and op.kind != "write" and op.kind != "inc")
        body = (" smp_mb(); " if fenced else " ").join(_c(op) for op in ops)
        text += f"P{t}({params}) {{ {regs}{body} }}\n"
    return text + f"exists ({locs[0]}=0)\n"


def _sc_finals(threads: list[list[Op]]) -> set[frozenset[tuple[object, int]]]:
    """The final states of every interleaving, each operation atomic."""
    locs = sorted({op.loc for ops in threads for op in ops})
    labels = [t for t, ops in enumerate(threads) for _ in ops]
    out = set()
    for order in set(itertools.permutations(labels)):
        memory = {x: 0 for x in locs}
        regs: dict[tuple[int, str], int] = {(t, op.reg): 0 for t, ops in enumerate(threads) for op in ops
                                             if op.reg and op.kind not in ("write", "inc")}
        next_op = [0] * len(threads)
        for t in order:
            op = threads[t][next_op[t]]
            next_op[t] += 1
            old = memory[op.loc]
            if op.kind == "write":
                memory[op.loc] = op.value
            elif op.kind == "read":
                regs[(t, op.reg)] = old
            elif op.kind == "xchg":
                regs[(t, op.reg)], memory[op.loc] = old, op.value
            elif op.kind == "cmpxchg":
                regs[(t, op.reg)] = old
                if old == op.value:
                    memory[op.loc] = op.new
            else:
                memory[op.loc] = old + 1
        out.add(frozenset([(("loc", x), v) for x, v in memory.items()] + [(("reg", t, r), v) for (t, r), v in regs.items()]))
    return out


CASES = [_generate(random.Random(SEED + i)) for i in range(COUNT)]


@pytest.mark.parametrize("index", range(COUNT))
def test_sc_outcomes_are_allowed_and_full_fences_allow_no_more(index: int) -> None:
    threads = CASES[index]
    sc = _sc_finals(threads)
    weak = final_states(parse_litmus(_litmus(threads, fenced=False), "g.litmus"))
    fenced = final_states(parse_litmus(_litmus(threads, fenced=True), "g.litmus"))
    assert sc <= weak, _litmus(threads, False)
    assert fenced == sc, _litmus(threads, True)
