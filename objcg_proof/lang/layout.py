"""Memory layout for the resolve stage: structs, objects and the shared words.

`LayoutBuilder` reads the struct, object and shared declarations into the resolver's `Names`
and builds the `ir.Layout` the later stages share: each object's address (its index above
the tag bits), one location per shared word (object fields, refcounts, shared variables and
array elements) with its initial value, and the constants that name tag bits.
"""

from __future__ import annotations

from typing import Callable

from . import ir
from . import syntax as s
from .constants import Constants
from .names import Names

_Add = Callable[..., int]   # adds a location (name, type, initial value, ghost, refcount_of): its id

class LayoutBuilder:
    """Structs, objects and shared words, in declaration order, and the layout they make."""

    def __init__(self, names: Names, constants: Constants) -> None:
        self.names = names
        self.constants = constants

    def struct(self, d: s.StructDecl) -> None:
        names = self.names
        if d.name in names.structs:
            names.err(d.span, f"struct '{d.name}' is already declared")
            return
        fields: list[ir.FieldInfo] = []
        for f in d.fields:
            if any(x.name == f.name for x in fields):
                names.err(f.span, f"struct {d.name} already has a field '{f.name}'")
                continue
            if f.name == "refcnt" and d.refcounted:
                names.err(f.span, "'refcnt' is the name of a refcounted struct's percpu_ref; choose another field name")
            size = None
            if f.size is not None:
                size = self.constants.const_or(f.size, 1, exact=True)
                if not 1 <= size <= 64:
                    names.err(f.size.span, f"an array field needs 1 to 64 elements, not {size}")
                    size = 1
                if f.const:
                    names.err(f.span, f"array field '{f.name}' cannot be const: declare it without 'const'")
            fields.append(ir.FieldInfo(f.name, names.type(f.type), f.const and size is None, size))
        names.structs[d.name] = ir.StructInfo(d.name, d.refcounted, tuple(fields))

    def objects(self, decls: tuple[s.Decl, ...]) -> None:
        """Number the objects and give each its address; they must fit the word."""
        names, width = self.names, self.constants.width
        overflowed = False
        for d in decls:
            if not isinstance(d, s.ObjectDecl):
                continue
            if d.struct_name not in names.structs:
                names.err(d.span, f"unknown struct '{d.struct_name}'")
                continue
            count = 1
            if d.size is not None:
                count = self.constants.const_or(d.size, 1, exact=True)
                if not 1 <= count <= 64:
                    names.err(d.size.span, f"an object array needs 1 to 64 elements, not {count}")
                    count = 1
                names.object_arrays.add(d.name)
            indices = []
            for i in range(count):
                idx = len(names.object_infos)
                name = f"{d.name}[{i}]" if d.size is not None else d.name
                address = (idx + 1) << ir.TAG_BITS
                names.object_infos.append(ir.ObjectInfo(idx, name, d.struct_name, address, ()))
                indices.append(idx)
            names.objects[d.name] = indices
            top = (len(names.object_infos) + 1) << ir.TAG_BITS
            if top >= 1 << (width - 1) and not overflowed:
                overflowed = True   # blamed on the declaration that goes over, once
                names.err(d.span, f"{len(names.object_infos)} objects do not fit in {width}-bit words: declare a larger 'width'")

    def layout(self, decls: tuple[s.Decl, ...]) -> ir.Layout:
        """One location per shared word with its initial value; the objects' const fields."""
        names = self.names
        locations: list[ir.Location] = []
        field_locs: dict[tuple[int, str], int] = {}

        def add(name: str, type_: ir.Type, init: int, ghost: bool = False, refcount_of: int | None = None) -> int:
            loc = ir.Location(len(locations), name, type_, init, ghost, refcount_of)
            locations.append(loc)
            return loc.id

        self._object_words(decls, add, field_locs)
        globals_ = self._shared_words(decls, add)
        tags = []
        seen_values = set()
        for name, value, is_param in sorted(names.const_order, key=lambda c: ("FLAG" not in c[0], "BIT" in c[0])):
            if not is_param and 0 < value < (1 << ir.TAG_BITS) and value & (value - 1) == 0 and value not in seen_values:
                seen_values.add(value)
                tags.append((value, name))
        return ir.Layout(self.constants.width, tuple(names.object_infos), tuple(locations), tuple(names.structs.values()),
                         tuple(sorted(field_locs.items())), tuple(globals_.items()), tuple(tags))

    def _object_words(self, decls: tuple[s.Decl, ...], add: _Add, field_locs: dict[tuple[int, str], int]) -> None:
        """A location per non-const field of every object (and its refcount); const fields
        are kept on the object."""
        names = self.names
        objects = list(names.object_infos)
        for d in decls:
            if not isinstance(d, s.ObjectDecl) or d.name not in names.objects or d.struct_name not in names.structs:
                continue   # (an unknown struct is reported where the object is declared)
            st = names.structs[d.struct_name]
            common = self._record(st, d.inits)
            per_element = self._element_records(d, st)
            for k, idx in enumerate(names.objects[d.name]):
                info = objects[idx]
                inits = per_element.get(k, {}) if d.elements else common
                consts = []
                for f in st.fields:
                    if f.const:
                        consts.append((f.name, inits.get(f.name, 0)))
                    elif f.size is not None:
                        values = inits.get(f.name, (0,) * f.size)
                        for e, v in enumerate(values if isinstance(values, tuple) else (values,) * f.size):
                            key = ir.element_name(f.name, e)
                            field_locs[(idx, key)] = add(f"{info.name}.{key}", f.type, v)
                    else:
                        field_locs[(idx, f.name)] = add(f"{info.name}.{f.name}", f.type, inits.get(f.name, 0))
                objects[idx] = ir.ObjectInfo(idx, info.name, info.struct, info.address, tuple(consts))
                if st.refcounted:
                    add(f"{info.name}.refcnt", ir.WORD, 1, refcount_of=idx)
        names.object_infos = objects

    def _record(self, st: ir.StructInfo, field_inits: tuple[s.FieldInit, ...]) -> dict[str, int | tuple[int, ...]]:
        """A record initialiser's values by field: a word, or one per element of an array field."""
        names = self.names
        inits: dict[str, int | tuple[int, ...]] = {}
        for fi in field_inits:
            fdecl = st.field(fi.name)
            if fdecl is None:
                names.err(fi.span, f"struct {st.name} has no field '{fi.name}'")
                continue
            if isinstance(fi.value, tuple):
                if fdecl.size is None:
                    names.err(fi.span, f"field '{fi.name}' of struct {st.name} is not an array: a brace initializer needs an array field")
                    continue
                if len(fi.value) > fdecl.size:
                    names.err(fi.value[fdecl.size].span, f"too many initializers for '{fi.name}[{fdecl.size}]'")
                values = [self.constants.const_or(e, 0) for e in fi.value[:fdecl.size]]
                inits[fi.name] = tuple(values + [0] * (fdecl.size - len(values)))
            else:
                inits[fi.name] = self.constants.const_or(fi.value, 0)
        return inits

    def _element_records(self, d: s.ObjectDecl, st: ir.StructInfo) -> dict[int, dict[str, int | tuple[int, ...]]]:
        """`[k] = { ... }` initialisers of an object array, by element."""
        names = self.names
        out: dict[int, dict[str, int | tuple[int, ...]]] = {}
        if d.elements and d.size is None:
            names.err(d.elements[0].span, f"'{d.name}' is not an array of objects: '[k] = {{ ... }}' needs '[size]'")
            return out
        count = len(names.objects[d.name])
        for el in d.elements:
            k = self.constants.const_or(el.index, 0, exact=True)
            if not 0 <= k < count:
                names.err(el.index.span, f"index {k} is out of bounds for '{d.name}[{count}]'")
                continue
            if k in out:
                names.err(el.index.span, f"element [{k}] of '{d.name}' is initialised twice")
                continue
            out[k] = self._record(st, el.inits)
        return out

    def _shared_words(self, decls: tuple[s.Decl, ...], add: _Add) -> dict[str, tuple[int, ...]]:
        """A location per shared variable and array element; binds the shared names."""
        names, constants = self.names, self.constants
        globals_: dict[str, tuple[int, ...]] = {}
        for d in decls:
            if not isinstance(d, s.SharedDecl):
                continue
            t = names.type(d.type)
            count = 1
            if d.size is not None:
                count = constants.const_or(d.size, 1, exact=True)
                if not 1 <= count <= 64:
                    names.err(d.size.span, f"a shared array needs 1 to 64 elements, not {count}")
                    count = 1
            values = [0] * count
            if isinstance(d.init, tuple):
                if d.size is None:
                    names.err(d.span, f"'{d.name}' is not an array: a brace initializer needs '[size]'")
                elif len(d.init) > count:
                    names.err(d.init[count].span, f"too many initializers for '{d.name}[{count}]'")
                for i, e in enumerate(d.init[:count]):
                    values[i] = constants.const_or(e, 0)
            elif d.init is not None:
                v = constants.const_or(d.init, 0)
                values = [v] * count
            ids = []
            for i in range(count):
                name = f"{d.name}[{i}]" if d.size is not None else d.name
                ids.append(add(name, t, values[i], ghost=d.ghost))
            globals_[d.name] = tuple(ids)
            names.shared[d.name] = (t, d.ghost, ids, d.size is not None)
        return globals_
