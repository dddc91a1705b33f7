"""Drift, the comparison: a procedure's mirror lines against the C function's statements.

Input: a `ProcMirror` (drift/model_side.py) and the C function it names (drift/c_source.py),
or None when the file no longer has it. Output: the findings, each located on both sides.

NOTE(drift-findings): the two sequences are aligned in order, the model's mirror lines
(waivers aside) against the function's statements, on their normalized text (the longest
matching subsequence, difflib's). What does not align is a finding:
- `moved`: a mirror line whose C statement is still in the function, but not where the model's
  order puts it (statements whose order changed);
- `changed`: a mirror line where the function now has another statement (a stretch of mirror
  lines and a stretch of statements between the same aligned neighbours, paired in order);
- `stale`: a mirror line whose C statement is no longer in the function (located in the C at
  the statement that follows where it was);
- `unmirrored`: a statement of the function that no mirror line mirrors and no `not modelled:`
  comment waives;
- `gone`: the function is no longer in its file (with the closest names it has).
A preprocessor line and an `else` are not statements of their own here: what they enclose is.
Whitespace and comments never make a finding: the comparison never sees them.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from .c_source import CFunction
from .model_side import MirrorLine, ProcMirror

SKIPPED_KINDS = frozenset({"preproc", "else"})


@dataclass(frozen=True)
class Finding:
    """One way a procedure no longer mirrors its C function."""

    kind: str            # moved, changed, stale, unmirrored, gone
    proc: str
    function: str
    model_file: str
    model_line: int
    c_file: str          # as shown to the user (a path in the kernel tree, or the patch's name)
    c_line: int          # 0 when the function is gone
    message: str


def compare(mirror: ProcMirror, function: CFunction | None, c_file: str, closest: list[str]) -> list[Finding]:
    """The findings of one procedure (NOTE(drift-findings)); `c_file`: the C file as findings
    name it; `closest`: names the C file has, for a function that is gone."""
    if function is None:
        near = f"; the closest names it has: {', '.join(closest)}" if closest else ""
        return [Finding("gone", mirror.proc, mirror.function, mirror.item.file, mirror.item.line, c_file, 0,
                        f"{mirror.function}() is no longer in {c_file}{near}")]
    mirrors = [m for m in mirror.lines if not m.waiver]
    waived = {m.key for m in mirror.lines if m.waiver}
    statements = [st for st in function.statements if st.kind not in SKIPPED_KINDS]
    matcher = difflib.SequenceMatcher(None, [m.key for m in mirrors], [st.key for st in statements], autojunk=False)
    gaps: list[tuple[list[int], list[int]]] = []   # per stretch that does not align: its mirror lines, its statements
    after: dict[int, int] = {}   # a statement that aligns with no mirror line -> the model line before its stretch
    where: dict[int, int] = {}   # a mirror line that aligns with nothing -> the C line after its stretch
    last_line = mirror.proc_span.line
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            last_line = mirrors[i2 - 1].line
            continue
        gaps.append((list(range(i1, i2)), [j for j in range(j1, j2) if statements[j].key not in waived]))
        after.update({j: last_line for j in range(j1, j2)})
        where.update({i: statements[j1].line if j1 < len(statements) else function.end_line for i in range(i1, i2)})
    findings: list[Finding] = []
    loose_c = [j for _, cs in gaps for j in cs]
    for ms, cs in gaps:
        for i in list(ms):   # a statement still in the function, elsewhere: its order changed
            j = next((j for j in loose_c if statements[j].key == mirrors[i].key), None)
            if j is not None:
                loose_c.remove(j)
                ms.remove(i)
                findings.append(_at(mirror, mirrors[i], c_file, statements[j].line, "moved",
                                    f"mirrors `{statements[j].text}`, which {function.name}() now has in another order"))
    for ms, cs in gaps:
        cs = [j for j in cs if j in loose_c]
        for i, j in zip(ms, cs):   # one statement where the model has another: changed
            findings.append(_at(mirror, mirrors[i], c_file, statements[j].line, "changed",
                                f"mirrors `{mirrors[i].text}`, where {function.name}() now has `{statements[j].text}`"))
        for i in ms[len(cs):]:
            findings.append(_at(mirror, mirrors[i], c_file, where[i], "stale",
                                f"mirrors `{mirrors[i].text}`, which is no longer in {function.name}()"))
        for j in cs[len(ms):]:
            st = statements[j]
            findings.append(Finding("unmirrored", mirror.proc, function.name, mirror.proc_span.file, after[j], c_file,
                                    st.line, f"`{st.text}` in {function.name}() is mirrored by no line of proc "
                                             f"{mirror.proc} (mirror it, or say `// not modelled: ...` and why)"))
    findings.sort(key=lambda f: (f.model_file, f.model_line, f.c_line))
    return findings


def _at(mirror: ProcMirror, m: MirrorLine, c_file: str, c_line: int, kind: str, message: str) -> Finding:
    return Finding(kind, mirror.proc, mirror.function, m.file, m.line, c_file, c_line, message)
