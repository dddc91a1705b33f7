"""One thread's `active proctype`: its control-flow graph cut into nodes (a node starts at
each step and takes along the local instructions that follow it), each node one `d_step` (or
one `atomic` when it chooses values) in a loop that dispatches on the thread's `pc`."""

from __future__ import annotations

import re

from .cfg import FAIL, Branch, Goto
from .formulas import ident
from .graph import ThreadGraph

_TEMP = re.compile(r"__T(\d+)")


class Proctype:
    """The Promela text of one thread's graph `g` (`text`); it raises `g.x.hidden_temps` to the
    temporaries its d_steps need."""

    def __init__(self, graph: ThreadGraph) -> None:
        self.g = graph
        self.x = graph.x
        self.instrs = graph.instrs

    # ---- nodes and text
    def nodes(self) -> list[int]:
        """Node starts: the entry, every step, and enough loop heads that no node loops."""
        starts = [self.g.entry]
        seen = {self.g.entry}
        order = [self.g.entry]
        while order:
            i = order.pop()
            for j in self.successors(i):
                if j not in seen:
                    seen.add(j)
                    order.append(j)
                    if self.instrs[j].boundary:
                        starts.append(j)
        start_set = set(starts)
        changed = True
        while changed:
            changed = False
            for s in list(starts):
                back = self.back_edge(s, start_set)
                if back is not None:
                    assert not self.instrs[back].in_atomic
                    starts.append(back)
                    start_set.add(back)
                    changed = True
                    break
        return starts

    def successors(self, i: int) -> list[int]:
        ins = self.instrs[i]
        nxt = ins.nxt
        out = [nxt.target] if isinstance(nxt, Goto) else [nxt.then, nxt.other] if isinstance(nxt, Branch) else []
        return out + ([ins.fail] if ins.fail is not None else [])

    def back_edge(self, start: int, starts: set[int]) -> int | None:
        """An instruction that the tail of `start` reaches twice (a loop without a step)."""
        on_path: set[int] = set()
        done: set[int] = set()
        stack: list[tuple[int, int]] = [(start, 0)]
        on_path.add(start)
        while stack:
            i, n = stack[-1]
            succ = self.successors(i)
            if n == len(succ):
                stack.pop()
                on_path.discard(i)
                done.add(i)
                continue
            stack[-1] = (i, n + 1)
            j = succ[n]
            if j in starts or j in done:
                continue
            if j in on_path:
                return j
            on_path.add(j)
            stack.append((j, 0))
        return None

    def text(self) -> list[str]:
        x = self.x
        starts = self.nodes()
        node_of = {s: n for n, s in enumerate(starts)}
        end, stop = len(starts), len(starts) + 1
        name = "T_" + ident(self.g.thread.name)
        options: list[str] = []
        local_temps = 0
        stops = False
        for n, s in enumerate(starts):
            body, nondet, ntemps, uses_stop = self.node(n, s, node_of, end, stop)
            stops = stops or uses_stop
            first = self.instrs[s]
            cond = f"pc == {n}" + (f" && {first.guard}" if first.guard else "")
            if nondet:
                local_temps = max(local_temps, ntemps)
                body = [_TEMP.sub(r"t_\1", line) for line in body] + [f"t_{i} = 0;" for i in range(ntemps)]
                kw = "atomic"
            else:
                x.hidden_temps = max(x.hidden_temps, ntemps)
                body = [_TEMP.sub(r"T\1", line) for line in body]
                kw = "d_step"
            options.append(f"  :: {kw} {{ {cond} ->")
            options += ["       " + line if not line.startswith("#") else line for line in body]
            options.append("     }")
            if first.assume and first.guard:
                options.append(f"  :: pc == {n} && !({first.guard}) -> skip  /* waits on an assume(): not blocked */")
        if stops:
            options.append(f"  :: pc == {stop} -> skip  /* stopped by a false assume() or a failed access: not blocked */")
        options.append(f"  :: pc == {end} -> break")
        pc_type = "byte" if stop < 256 else "short"
        out = [f"/* thread {self.g.thread.name}" + (f" (current = &{x.layout.objects[self.g.thread.current].name})"
                                                    if self.g.thread.current is not None else "") + " */",
               f"active proctype {name}() {{",
               f"  {pc_type} pc = 0;  /* the node to run next; {end}: finished */"]
        for local in self.g.vars.locals:
            out.append(f"  int {local} = {self.g.vars.inits.get(local, 0)};")
        for i in range(local_temps):
            out.append(f"  int t_{i} = 0;")
        if "deadlock" in x.keep:
            out += [x.guard_line("deadlock"), "  do", "#else", "end_run:", "  do", "#endif"]
        else:
            out += ["end_run:", "  do"]
        out += options
        out += ["  od", "}"]
        return out

    def node(self, n: int, start: int, node_of: dict[int, int], end: int,
             stop: int) -> tuple[list[str], bool, int, bool]:
        """The statements of node n, its instructions laid out with labels and gotos."""
        order: list[int] = []
        placed: set[int] = set()
        pending = [start]
        while pending:
            i = pending.pop()
            while i not in placed:
                placed.add(i)
                order.append(i)
                succ = [j for j in self.successors(i) if j not in node_of and j not in placed]
                if not succ:
                    break
                pending += reversed(succ[1:])
                i = succ[0]
        position = {i: p for p, i in enumerate(order)}
        label_end = f"N{n}_end"
        targets: set[int] = set()
        nondet = any(self.instrs[i].nondet for i in order)
        ntemps = max(self.instrs[i].ntemps for i in order)
        uses_stop = False

        def jump(j: int, here: int) -> str:
            if j in node_of:
                return f"pc = {node_of[j]}; goto {label_end}"
            if position[j] == position[here] + 1:
                return "skip"
            targets.add(j)
            return f"goto N{n}_{j}"

        body: list[list[str]] = []
        for i in order:
            ins = self.instrs[i]
            lines = list(ins.code)
            if ins.fail is not None:
                targets.add(ins.fail)
                lines = [line.replace(FAIL, f"goto N{n}_{ins.fail};") for line in lines]
            if ins.kind == "finish":
                lines += [f"pc = {end};", f"goto {label_end};"]
            elif ins.kind == "stop":
                uses_stop = True
                lines += [f"pc = {stop};", f"goto {label_end};"]
            elif ins.kind == "rollback":
                lines += [f"goto {label_end};  /* pc stays {n}: the block did not run */"]
            elif isinstance(ins.nxt, Goto):
                j = jump(ins.nxt.target, i)
                if j != "skip":
                    lines.append(j + ";")
            elif isinstance(ins.nxt, Branch):
                lines += ["if", f":: {ins.nxt.cond} -> {jump(ins.nxt.then, i)};",
                          f":: else -> {jump(ins.nxt.other, i)};", "fi;"]
            body.append(lines)
        out: list[str] = []
        for i, lines in zip(order, body):
            if i in targets:
                out += [f"N{n}_{i}:", "skip;"]
            out += lines
        out += [f"{label_end}:", "skip;"]
        return out, nondet, ntemps, uses_stop

