"""What every part of the Promela export shares, model-wide: the layout and the word size, the
name of each shared location's global, the properties (their numbers, which the `--property`
selection keeps, which have a check site), how a check site and a source comment are written
(the end-of-run checks of the thread that finishes last are final.py's)."""

from __future__ import annotations

from ...lang import ir
from ...lang.diagnostics import SourceCache, Span
from .formulas import ident


class ExportContext:
    """Everything model-wide: names of globals, property numbers, check sites, and the widest
    d_step's temporaries (`hidden_temps`, found while the threads are written)."""

    def __init__(self, prog: ir.Program, keep: tuple[str, ...], sources: SourceCache | None) -> None:
        self.prog = prog
        self.layout = prog.layout
        self.width = prog.layout.width
        self.mask = (1 << self.width) - 1
        self.kill = prog.layout.kill_bit
        self.count_mask = self.kill - 1
        self.sources = sources
        # numbered as the prover lists them: leak only with a refcounted object (ir.builtin_properties)
        self.props: list[tuple[str, str]] = [(p, p) for p in ir.builtin_properties(prog.layout)] + list(prog.properties)
        self.numbers = {name: i + 1 for i, (_, name) in enumerate(self.props)}
        self.keep = {name for kind, name in self.props if not keep or name in keep or kind in keep}
        self.sites: set[str] = set()
        self.hidden_temps = 0
        self.loc_names = self._location_names()

    # ---- names
    def _location_names(self) -> list[str]:
        names: list[str] = []
        seen: set[str] = set()
        objects = {o.name for o in self.layout.objects}
        for loc in self.layout.locations:
            if loc.refcount_of is not None:
                base = "rc_" + ident(self.layout.objects[loc.refcount_of].name)
            else:
                head, _, tail = loc.name.rpartition(".")
                if head in objects:
                    base = f"o_{ident(head)}__{ident(tail)}"
                else:
                    base = "g_" + ident(loc.name)
            name = base if base not in seen else f"{base}_{loc.id}"
            seen.add(name)
            names.append(name)
        return names

    def marker(self, prop: str) -> str:
        return f"PROP_{self.numbers[prop]}_{ident(prop)}"

    def guard_line(self, prop: str) -> str:
        """The `#if` that keeps what only `prop` needs (in the survey mode too)."""
        return f"#if PROPERTY < 0 || PROPERTY == 0 || PROPERTY == {self.numbers[prop]}"

    def check(self, prop: str, cond: str | None) -> list[str]:
        """A check site of `prop` (cond None: the site always fails when reached): an assert, or
        in the survey mode (PROPERTY < 0) a report that lets the search go on."""
        self.sites.add(prop)
        if prop not in self.keep:
            return []
        n = self.numbers[prop]
        report = f'printf("objcg-prove: property {n} ({ident(prop)}) violated\\n");'
        survey = [report] if cond is None else ["if", f":: !{cond} -> {report}", ":: else -> skip;", "fi;"]
        marker = self.marker(prop)
        asserted = f"assert(!{marker});" if cond is None else f"assert({cond} || !{marker});"
        return ["#if PROPERTY < 0"] + survey + [f"#elif PROPERTY == 0 || PROPERTY == {n}", asserted, "#endif"]

    def comment(self, span: Span) -> str:
        text = ""
        if self.sources is not None and span.line:
            text = (self.sources.line(span.file, span.line) or "").strip()
            cut = text.find("//")
            text = " ".join((text[:cut] if cut >= 0 else text).split())
        where = f"{span.file}:{span.line}"
        return "/* " + (f"{where}: {text}" if text else where).replace("*/", "* /") + " */"
