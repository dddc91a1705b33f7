"""Values as a kernel developer reads them: objcg_A, objcg_A|UPDATE, NULL, 3."""

from __future__ import annotations

from .ir import TAG_BITS, Layout


def render(value: int, pointer: bool, layout: Layout) -> str:
    if not pointer:
        return str(value)
    if value == 0:
        return "NULL"
    align = 1 << TAG_BITS
    base, tag = value & ~(align - 1), value & (align - 1)
    names = {o.address: o.name for o in layout.objects}
    if base and base not in names:
        word = layout.word_at(value)   # a pointer to a pointer (NOTE(word-addresses) in ir.py)
        return f"&{layout.locations[word].name}" if word is not None and layout.locations[word].type.pointer else hex(value)
    head = names[base] if base else "NULL"
    tags = dict(layout.tag_names)
    parts = [head]
    bit = 1
    while bit < align:
        if tag & bit:
            parts.append(tags.get(bit, hex(bit)))
        bit <<= 1
    return "|".join(parts)


def render_refcount(value: int, layout: Layout) -> str:
    count = value & (layout.kill_bit - 1)
    return f"{count} (killed)" if value & layout.kill_bit else str(count)
