"""The Promela model of a resolved program (`to_promela`) or of a model file (`export_path`):
the comment header and the declarations of the property markers and shared globals, then one
proctype per thread. How the model is mapped is the package's docstring (__init__.py)."""

from __future__ import annotations

from dataclasses import dataclass

from ...lang import ir
from ...lang.diagnostics import Diagnostic, SourceCache, Span, UserError
from ...lang.parser import load_model
from ...lang.resolve import resolve
from .context import ExportContext
from .final import end_guard, end_properties
from .proctype import Proctype
from .thread import build_thread

MAX_WIDTH = 31


@dataclass(frozen=True)
class PromelaModel:
    """An exported model: the text, and its properties in `-DPROPERTY=n` order (n = index + 1)."""

    text: str
    properties: tuple[str, ...]
    kinds: tuple[str, ...]
    # properties with at least one check in the text (the others cannot be violated in SPIN;
    # deadlock counts when some thread can wait)
    checked: tuple[str, ...]

    def number(self, name: str) -> int:
        return self.properties.index(name) + 1


def to_promela(program: ir.Program, properties: tuple[str, ...] = (), sources: SourceCache | None = None) -> PromelaModel:
    """The Promela model of a resolved program, keeping the checks of `properties` (names or
    kinds; empty: all). Raises UserError for what the export cannot represent."""
    x = ExportContext(program, properties, sources)
    if x.width > MAX_WIDTH:
        raise UserError(Diagnostic(x.prog.width_span or Span(x.prog.path, 1, 1),
                                   f"{x.width}-bit words are not supported by the Promela export (at most {MAX_WIDTH} bits)",
                                   ("declare a smaller 'width' for the SPIN cross-check",)))
    threads = [build_thread(x, t) for t in x.prog.threads]
    bodies = [Proctype(t).text() for t in threads]
    waits = any(t.has_wait for t in threads)
    if waits:
        x.sites.add("deadlock")
    refcounted = [o for o in x.layout.objects if x.layout.struct(o.struct).refcounted]
    if refcounted:
        x.sites.add("leak")
    out = _declarations(x, refcounted)
    for body in bodies:
        out += [""] + body
    checked = tuple(name for _, name in x.props if name in x.sites)
    return PromelaModel("\n".join(out) + "\n", tuple(name for _, name in x.props),
                        tuple(kind for kind, _ in x.props), checked)


def _declarations(x: ExportContext, refcounted: list[ir.ObjectInfo]) -> list[str]:
    """The model's comment header, the property markers, and a global per shared location."""
    prog = x.prog
    params = ", ".join(f"{k}={v}" for k, v in prog.params) or "none"
    lines = [
        f"/* {prog.path}: exported by `objcg-prove export --format promela` for a cross-check with SPIN.",
        f" * params: {params}; width {x.width} bits; loops are not bounded (the prover's bound is {prog.bound}).",
        *([f" * The model declares `memory_model {prog.memory_model};`: SPIN explores sequentially consistent",
           " * interleavings only, so its verdicts are the model's under `--memory-model sc`."]
          if prog.memory_model != "sc" else []),
        " * Check one property n (0 or unset: all of them; pan stops at the first violation):",
        " *   spin -DPROPERTY=n -a FILE && gcc -O2 -fwrapv -DSAFETY -DCOLLAPSE -DVECTORSZ=4096 -o pan pan.c",
        " *   ./pan -m1000000",
        " *   A violated assert, lost_update, uaf or leak check is an 'assertion violated' naming",
        " *   PROP_n_<name> (leak is checked when every thread has finished); a deadlock is an",
        f" *   'invalid end state' (reported only when n is {x.numbers['deadlock']} or 0).",
        " * Survey every property in one exhaustive search (each violation is printed and the search",
        " * goes on; the 'errors' pan counts are deadlocks, i.e. invalid end states):",
        " *   spin -DPROPERTY=-1 -a FILE",
        " *   gcc -O2 -fwrapv -DSAFETY -DCOLLAPSE -DVECTORSZ=4096 -DNOREDUCE -DPRINTF -o pan pan.c",
        " *   ./pan -m1000000 -c0 | grep 'objcg-prove: property'",
        " * properties:",
    ]
    for i, (kind, name) in enumerate(x.props):
        kept = "" if name in x.keep else "  (not exported: --property)"
        lines.append(f" *   {i + 1:2d}  {name} ({kind}){kept}")
    lines += [" */", "", "#ifndef PROPERTY", "#define PROPERTY 0", "#endif", ""]
    lines.append("/* property markers: constant, not part of the state */")
    for _, name in x.props:
        lines.append(f"hidden byte {x.marker(name)} = 1;")
    lines.append("")
    lines.append("/* shared memory: one global per location of the layout */")
    for loc in x.layout.locations:
        what = loc.name + (" (ghost)" if loc.ghost else "")
        lines.append(f"int {x.loc_names[loc.id]} = {loc.init & x.mask};  /* {what} */")
    if x.hidden_temps:
        lines.append("")
        lines.append("/* temporaries of d_step nodes: written before read inside one d_step */")
        lines.append("hidden int " + ", ".join(f"T{i}" for i in range(x.hidden_temps)) + ";")
    if end_properties(x):
        lines += ["", end_guard(x), "byte nfinished = 0;  /* threads that have finished */", "#endif"]
    return lines


def export_path(path: str, sources: SourceCache, defines: tuple[tuple[str, int], ...] = (), bound: int | None = None,
                properties: tuple[str, ...] = ()) -> PromelaModel:
    """Parse, resolve and export one model file (UserError: the same diagnostics as the prover)."""
    program = resolve(load_model(path, sources), dict(defines), bound)
    return to_promela(program, properties, sources)

