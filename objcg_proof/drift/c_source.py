"""C functions as statement lists, for comparing a model with the kernel code it mirrors.

Input: the text of a C file (a kernel source, or a patch's image of one: drift/patch.py) and
the name to show for it. Output: every function definition in it as a `CFunction`, its body
flattened to `CStatement`s in source order, each with its place in the file and a comparison
key (`normalize_c`) that no whitespace or comment changes.

The parser is tree-sitter's C grammar, which recovers from what it cannot parse instead of
stopping, so kernel code is read although it is never preprocessed. NOTE(kernel-c): two kinds
of kernel macro would still mislead the grammar, so it reads a working copy of the text with
them rewritten, every byte in its place (statement texts are always cut from the original):
- annotations that stand where C expects none (`static __always_inline struct obj_cgroup *`,
  `int __must_check f(void)`, `struct obj_cgroup __rcu *p;`) are blanked: `ANNOTATIONS`, the
  words the kernel's scripts/tags.sh has ctags ignore, and their kin;
- an iterator macro heading a loop body (`list_for_each_entry(pos, head, list) { ... }`,
  `for_each_node(nid) f(nid);`: a name containing `for_each`, as checkpatch tells them, called
  where a statement starts and followed by a statement) is spelt `while`, padded with blanks,
  so that its body parses as a loop's; its header keeps the macro's text, with the kind "for".
Comments and the insides of string literals are blanked in the working copy as well.

Flattening, in source order (`depth`: 0 for the function body's own statements, one more
inside each branch, loop body, case or nested block):
- declaration, expression, return, goto, break, continue, typedef: one "statement"; an empty
  `;` none;
- if: `if (COND)`, its branch, then, when there is an else, `else` at the if's depth and its
  branch (`else if`: the inner `if (...)` at that depth too, and so on down the chain);
- while, for, switch: the header (`while (COND)`, `for (...)`, `switch (X)`), then the body;
  do: `do`, the body, then `while (COND);` as "do_while", placed at the `while`;
- case: `case X:` / `default:` (inside the switch's body), then its statements one deeper;
- label: `label:`, then its statement at the same depth;
- a block nested in a body: its statements, one deeper;
- a preprocessor line in a body (`#ifdef X`, `#elif ...`, `#else`, `#endif`, `#define ...`):
  a "preproc" statement; the statements between such lines keep the depth they would have
  without them;
- a macro taking a block (`scoped_guard(rcu) { ... }`, which the grammar reads as a function
  defined in the body): its head as a "statement", then the block's statements one deeper;
- what the grammar could not parse (an ERROR node, or pieces it leaves loose in a body): the
  statements it did recognise inside are flattened as above, and loose text up to the `;`
  that ends it becomes one "statement", so that a construct the grammar does not know still
  shows its text.
A function is `complete` when its parse holds no syntax error. One cut off by the end of the
text, or of its range of shown lines, is listed as far as it goes, never complete. Of two
definitions with one name (`#ifdef` branches) the first is kept and nothing is kept of the other.
"""

from __future__ import annotations

import bisect
import difflib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import tree_sitter_c
from tree_sitter import Language, Node, Parser

from ..lang.diagnostics import SourceUnreadable, printable, read_source

C_LANGUAGE = Language(tree_sitter_c.language())

KINDS = ("statement", "if", "else", "while", "do", "do_while", "for", "switch", "case", "label", "preproc")


@dataclass(frozen=True)
class CStatement:
    """One statement of a flattened function body (of a compound statement: its header)."""

    text: str           # the source, comments removed, blank runs made one blank
    key: str            # normalize_c(text): what statements are compared by
    line: int = field(compare=False)      # 1-based, where the statement starts
    column: int = field(compare=False)    # 1-based, in characters
    kind: str           # one of KINDS
    depth: int          # 0: the function body's own statements


@dataclass(frozen=True)
class CFunction:
    """A function definition: where it is, and its body as statements."""

    name: str
    file: str = field(compare=False)      # as the caller named it
    line: int = field(compare=False)      # the definition's first line
    end_line: int = field(compare=False)
    statements: tuple[CStatement, ...]
    complete: bool      # False: a syntax error in it, or it runs out of the lines shown


class CSourceError(Exception):
    """A C file that cannot be read: `FILE: why` or `FILE:LINE:COLUMN: why`."""


# ---- the comparison key -------------------------------------------------------------------

# A comment, a blank run or one C token, tried in that order; among tokens literals come before
# identifiers (L"x", u8'c'), numbers are pp-numbers as the preprocessor reads them (0x1UL,
# 1e-3, 1.f), operators longest first. An unterminated comment or literal runs to its end (a
# fragment's text may be cut anywhere).
_LEXEME = re.compile(r"""
    (?P<comment> /\*(?:.*?\*/|.*\Z) | //[^\n]* )
  | (?P<blank> (?:\s|\\\n)+ )
  | (?P<token>
        (?:u8|[uUL])?"(?:\\.|[^"\\\n])*"?
      | (?:u8|[uUL])?'(?:\\.|[^'\\\n])*'?
      | \.?\d(?:[eEpP][+-]|[\w.])*
      | [A-Za-z_$][\w$]*
      | \.\.\.|<<=|>>=|->|\+\+|--|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&^|]=|\#\#
      | .
    )""", re.VERBOSE | re.DOTALL)


def c_tokens(text: str) -> list[str]:
    """The C tokens of `text`, comments and blanks dropped."""
    return [m["token"] for m in _LEXEME.finditer(text) if m["token"] is not None]


def normalize_c(text: str) -> str:
    """The comparison key of a C statement or fragment: its tokens joined by one blank, without
    a leading `}` or a trailing `{` (`} else {` keys as `else`, `if (old) {` as `if ( old )`,
    `} while (x);` as `while ( x ) ;`)."""
    tokens = c_tokens(text)
    if tokens[:1] == ["}"]:
        tokens = tokens[1:]
    if tokens[-1:] == ["{"]:
        tokens = tokens[:-1]
    return " ".join(tokens)


def clean_c(text: str) -> str:
    """`text` as a reader sees it: comments removed, each blank run outside literals one blank."""
    pieces: list[str] = []
    for m in _LEXEME.finditer(text):
        if m["token"] is not None:
            pieces.append(m["token"])
        elif pieces and pieces[-1] != " ":
            pieces.append(" ")
    return "".join(pieces).rstrip()


def closest_names(name: str, names: Iterable[str], n: int = 3) -> list[str]:
    """Up to `n` of `names` most like `name`, best first (for "did you mean")."""
    return difflib.get_close_matches(name, list(names), n=n, cutoff=0.6)


# ---- the working copy the grammar reads (NOTE(kernel-c)) ----------------------------------

ANNOTATIONS = (
    "__always_inline", "noinline", "__noinline", "__cold", "__hot", "__init", "__exit", "__ref",
    "__meminit", "__must_check", "__maybe_unused", "__always_unused", "__used", "__weak", "__pure",
    "__noreturn", "notrace", "noinstr", "__sched", "__visible", "asmlinkage", "__attribute_const__",
    "__deprecated", "__initdata", "__initconst", "__exitdata", "__refdata", "__read_mostly",
    "__ro_after_init", "__rcu", "__user", "__iomem", "__percpu", "__force", "__latent_entropy",
    "__kprobes", "__flatten", "__packed", "__malloc", "__fastpath_inline",
    "____cacheline_aligned", "____cacheline_aligned_in_smp", "__cacheline_aligned",
    "__cacheline_aligned_in_smp", "____cacheline_internodealigned_in_smp",
)
# ... and those that take an argument list (`__printf(1, 2)`, `__acquires(&lock)`)
ANNOTATIONS_WITH_ARGUMENTS = (
    "__acquires", "__releases", "__must_hold", "__cond_acquires", "__printf", "__scanf",
    "__aligned", "__section", "__alloc_size",
)
_PARENTHESES = rb"\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\)"      # up to three levels deep
_ANNOTATION = re.compile(
    rb"\b(?:" + b"|".join(w.encode() for w in ANNOTATIONS) + rb")\b"
    rb"|\b(?:" + b"|".join(w.encode() for w in ANNOTATIONS_WITH_ARGUMENTS) + rb")\s*" + _PARENTHESES)
_COMMENT_OR_STRING = re.compile(rb"""/\*.*?(?:\*/|\Z)|//[^\n]*|(?P<quote>(?:u8|[uUL])?")(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'""",
                                re.DOTALL)
_ITERATOR = re.compile(rb"(?<![\w.>$])\w*for_each\w*(?=[ \t]*\()")
_STATEMENT_NEXT = re.compile(rb"\s*(?:[A-Za-z_({*]|\+\+|--)")
_BLANKS = b" \t\r\n\f\v"


def _blanked(text: bytes) -> bytes:
    return re.sub(rb"[^\n]", b" ", text)


def _blank_comment_or_string(match: re.Match[bytes]) -> bytes:
    if match["quote"] is not None:            # keep the quotes, so that it stays a string
        return match["quote"] + _blanked(match[0][len(match["quote"]):-1]) + b'"'
    return match[0] if match[0][:1] == b"'" else _blanked(match[0])


def working_copy(data: bytes) -> bytes:
    """`data` as the grammar reads it (NOTE(kernel-c)): comments, string insides and kernel
    annotations blanked, iterator macros that head a loop body spelt `while`; every byte in
    its place."""
    data = _COMMENT_OR_STRING.sub(_blank_comment_or_string, data)
    data = _ANNOTATION.sub(lambda m: _blanked(m[0]), data)
    out = bytearray(data)
    for m in _ITERATOR.finditer(data):
        close = _closing_parenthesis(data, data.index(b"(", m.end()))
        if close is not None and _statement_starts_at(data, m.start()) and _STATEMENT_NEXT.match(data, close + 1):
            out[m.start():m.end()] = b"while".ljust(m.end() - m.start())
    return bytes(out)


def _closing_parenthesis(data: bytes, at: int) -> int | None:
    """Where the `)` closing the `(` at `at` is (strings are blank here), or None."""
    level = 0
    for i in range(at, len(data)):
        if data[i] == 0x28:
            level += 1
        elif data[i] == 0x29:
            level -= 1
            if level == 0:
                return i
    return None


def _statement_starts_at(data: bytes, at: int) -> bool:
    """Whether a statement may start at `at`: after `;`, `{`, `}`, `)`, `:`, `else` or `do`, or
    first on a line after a preprocessor line."""
    i = at
    while i and data[i - 1] in _BLANKS:
        i -= 1
    if i == 0 or data[i - 1] in b";{}):":
        return True
    if re.search(rb"(?:^|\W)(?:else|do)\Z", data[max(0, i - 5):i]):
        return True
    line = data[data.rfind(b"\n", 0, i) + 1:i]
    return line.lstrip().startswith(b"#") and b"\n" in data[i:at]


# ---- functions ------------------------------------------------------------------------------


def c_functions(text: str, file: str, *, shown: Iterable[range] | None = None) -> dict[str, CFunction]:
    """Every function definition in `text`, by name (the first of two with one name); a macro
    definition or a prototype is none. `shown`: the ranges of line numbers that hold the
    file's lines when the rest is filler (a patch's image: patch.post_shown); each range is
    then parsed alone, so that no function reaches across lines nobody has seen, and a
    function cut off at the end of its range is not complete."""
    original = text.encode("utf-8")
    starts = [0] + [m.end() for m in re.finditer(rb"\n", original)]
    work = working_copy(original)
    found: dict[str, CFunction] = {}
    parser = Parser(C_LANGUAGE)
    for begin, end in _byte_ranges(starts, len(original), shown):
        place = _Places(original, starts, begin)
        for definition in _definitions(parser.parse(work[begin:end]).root_node):
            if definition.name not in found:
                found[definition.name] = definition.function(place, file)
    return found


def read_c_functions(path: str | Path, display: str | None = None) -> dict[str, CFunction]:
    """The functions of the C file at `path` (c_functions), named `display` (default: the path)
    in what they report. CSourceError when it cannot be read or is not UTF-8 text."""
    name = display if display is not None else str(path)
    try:
        data = read_source(path)
    except SourceUnreadable as exc:
        raise CSourceError(f"{printable(name)}: cannot read it: {exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = len(data[data.rfind(b"\n", 0, exc.start) + 1:exc.start].decode("utf-8", "replace")) + 1
        raise CSourceError(f"{printable(name)}:{line}:{column}: not UTF-8 text (byte 0x{data[exc.start]:02x}); "
                           f"kernel sources are UTF-8") from None
    return c_functions(text, name)


def _byte_ranges(starts: Sequence[int], size: int, shown: Iterable[range] | None) -> list[tuple[int, int]]:
    """The byte ranges parsed alone: the whole text, or each run of shown lines."""
    if shown is None:
        return [(0, size)]
    lines = len(starts)

    def offset(line: int) -> int:        # where 1-based `line` starts (the end for a line past it)
        return starts[line - 1] if line <= lines else size

    return [(offset(max(r.start, 1)), offset(r.stop)) for r in shown if r.stop > max(r.start, 1)]


@dataclass(frozen=True)
class _Definition:
    """A function definition as parsed: its name, bytes, body items and whether it parsed whole."""

    name: str
    start: int
    end: int
    items: Sequence[Node]
    complete: bool

    def function(self, place: _Places, file: str) -> CFunction:
        walk = _Walk(place)
        walk.items(self.items, 0)
        line, end_line = place.line_column(self.start)[0], place.line_column(self.end)[0]
        return CFunction(self.name, file, line, end_line, tuple(walk.statements), self.complete)


# What may stand before a function's declarator: `static`, `const`, a type, an attribute.
_SPECIFIERS = frozenset({"storage_class_specifier", "type_qualifier", "primitive_type", "sized_type_specifier",
                         "type_identifier", "struct_specifier", "union_specifier", "enum_specifier",
                         "macro_type_specifier", "attribute_specifier"})


def _definitions(root: Node) -> Iterator[_Definition]:
    """The function definitions under `root` in source order (none inside another): those the
    grammar parsed, and those cut off by the end of the text, which it leaves in an ERROR node
    as a declarator followed by `{` and what came of the body (never complete)."""
    stack: list[Node | _Definition] = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, _Definition):
            yield item
        elif item.type == "function_definition":
            name = _declared_name(item.child_by_field_name("declarator"))
            body = item.child_by_field_name("body")
            if name is not None and body is not None:
                yield _Definition(name, item.start_byte, item.end_byte, body.children, not item.has_error)
        else:
            children: list[Node | _Definition] = list(item.children)
            if item.type == "ERROR":
                children = _cut_definition(item.children)
            stack.extend(reversed(children))


def _cut_definition(children: Sequence[Node]) -> list[Node | _Definition]:
    """An ERROR node's children, a function cut off in them (a declarator, then `{`) as a
    `_Definition` in their place."""
    for i, node in enumerate(children[:-1]):
        name = _declared_name(node) if children[i + 1].type == "{" else None
        if name is not None:
            first = i
            while first and children[first - 1].type in _SPECIFIERS:
                first -= 1
            cut = _Definition(name, children[first].start_byte, children[-1].end_byte, children[i + 2:], False)
            return [*children[:first], cut]
    return list(children)


def _declared_name(declarator: Node | None) -> str | None:
    """The name a function declarator declares: the identifier of the innermost function
    declarator (under pointers, parentheses and attributes); None if there is none."""
    node = declarator
    while node is not None:
        inner = node.child_by_field_name("declarator")
        if node.type == "function_declarator" and inner is not None and inner.type == "identifier":
            return _parsed_text(inner)
        node = inner if inner is not None else next(iter(node.named_children), None)
    return None


def _parsed_text(node: Node) -> str:
    """The text of `node` as the grammar read it: from the working copy (NOTE(kernel-c))."""
    return (node.text or b"").decode("utf-8", "replace")


@dataclass(frozen=True)
class _Places:
    """Positions in the file of the nodes of one parsed range (which starts at byte `begin`)."""

    original: bytes
    starts: Sequence[int]      # the byte offset of each line of the file
    begin: int

    def text(self, start: int, end: int) -> str:
        """The file's text from byte `start` to `end` of the range, cleaned (clean_c)."""
        return clean_c(self.original[self.begin + start:self.begin + end].decode("utf-8", "replace"))

    def line_column(self, byte: int) -> tuple[int, int]:
        at = self.begin + byte
        row = bisect.bisect_right(self.starts, at) - 1
        return row + 1, len(self.original[self.starts[row]:at].decode("utf-8", "replace")) + 1


# ---- flattening a body ----------------------------------------------------------------------


class _Walk:
    """One function body flattened: `statements` in source order."""

    def __init__(self, place: _Places) -> None:
        self.place = place
        self.statements: list[CStatement] = []

    def emit(self, kind: str, start: int, end: int, depth: int) -> None:
        text = self.place.text(start, end)
        line, column = self.place.line_column(start)
        self.statements.append(CStatement(text, normalize_c(text), line, column, kind, depth))

    def items(self, nodes: Sequence[Node], depth: int) -> None:
        """The items of a body (or of what the grammar could not parse) at `depth`. Pieces the
        grammar left loose are held until the `;` that ends them, then one statement, or until
        a `{`, then a header (`if (a) {` in a body cut off by the end of the text)."""
        loose: list[Node] = []
        for node in nodes:
            rule = BODY_RULES.get(node.type)
            if node.type == "{" and loose:
                first = _parsed_text(loose[0])
                self.emit(first if first in _HEADERS else "statement", loose[0].start_byte, loose[-1].end_byte, depth)
                loose = []
                continue
            if node.type in ("{", "}", "comment") or node.is_missing:
                continue
            if rule is not None and not (loose and _is_empty_statement(node)):
                loose = []
                rule(self, node, depth)
            elif node.type == "ERROR" and any(child.type in BODY_RULES for child in node.children):
                loose = []
                self.items(node.children, depth)
            else:
                loose.append(node)
                if _parsed_text(node).rstrip().endswith(";"):
                    self.emit("statement", loose[0].start_byte, node.end_byte, depth)
                    loose = []

    def branch(self, node: Node | None, depth: int) -> None:
        """A branch or loop body: a block's items, or the one statement, at `depth`."""
        if node is None:
            return
        if node.type == "compound_statement":
            self.items(node.children, depth)
        else:
            self.items([node], depth)

    def simple(self, node: Node, depth: int) -> None:
        if not _is_empty_statement(node):
            self.emit("statement", node.start_byte, node.end_byte, depth)

    def block(self, node: Node, depth: int) -> None:
        self.items(node.children, depth + 1)

    def if_(self, node: Node, depth: int) -> None:
        current: Node | None = node
        while current is not None:         # an else-if chain, iteratively
            condition = current.child_by_field_name("condition")
            self.emit("if", current.start_byte, _end(condition, current), depth)
            self.branch(current.child_by_field_name("consequence"), depth + 1)
            alternative = current.child_by_field_name("alternative")
            current = None
            if alternative is not None:
                self.emit("else", alternative.start_byte, alternative.start_byte + 4, depth)
                otherwise = next(iter(alternative.named_children), None)
                if otherwise is not None and otherwise.type == "if_statement":
                    current = otherwise
                else:
                    self.branch(otherwise, depth + 1)

    def while_(self, node: Node, depth: int) -> None:
        condition = node.child_by_field_name("condition")
        at = self.place.begin + node.start_byte
        word = self.place.original[at:at + 6]
        kind = "while" if re.match(rb"while\b", word) else "for"   # NOTE(kernel-c): an iterator macro
        self.emit(kind, node.start_byte, _end(condition, node), depth)
        self.branch(node.child_by_field_name("body"), depth + 1)

    def for_(self, node: Node, depth: int) -> None:
        body = node.child_by_field_name("body")
        closing = [c for c in node.children if c.type == ")" and (body is None or c.end_byte <= body.start_byte)]
        self.emit("for", node.start_byte, closing[-1].end_byte if closing else _end(body, node), depth)
        self.branch(body, depth + 1)

    def do(self, node: Node, depth: int) -> None:
        self.emit("do", node.start_byte, node.start_byte + 2, depth)
        self.branch(node.child_by_field_name("body"), depth + 1)
        word = next((c for c in node.children if c.type == "while"), None)
        if word is not None:
            self.emit("do_while", word.start_byte, node.end_byte, depth)

    def switch(self, node: Node, depth: int) -> None:
        condition = node.child_by_field_name("condition")
        self.emit("switch", node.start_byte, _end(condition, node), depth)
        self.branch(node.child_by_field_name("body"), depth + 1)

    def case(self, node: Node, depth: int) -> None:
        colon = next((c for c in node.children if c.type == ":"), None)
        header_end = colon.end_byte if colon is not None else node.start_byte
        self.emit("case", node.start_byte, header_end, depth)
        self.items([c for c in node.children if c.start_byte >= header_end], depth + 1)

    def label(self, node: Node, depth: int) -> None:
        colon = next((c for c in node.children if c.type == ":"), None)
        header_end = colon.end_byte if colon is not None else node.start_byte
        self.emit("label", node.start_byte, header_end, depth)
        self.items([c for c in node.children if c.start_byte >= header_end], depth)

    def attributed(self, node: Node, depth: int) -> None:
        """`[[fallthrough]];` and the like: one statement, or the attributed compound statement's."""
        inner = node.named_children[-1] if node.named_children else None
        if inner is not None and inner.type in _SIMPLE:
            self.emit("statement", node.start_byte, node.end_byte, depth)
        else:
            self.items([c for c in node.named_children if c.type != "attribute_declaration"], depth)

    def conditional(self, node: Node, depth: int) -> None:
        """`#if` / `#ifdef` / `#elif` / `#else` with what they hold, then `#endif`."""
        head = node.child_by_field_name("condition") or node.child_by_field_name("name") or node.children[0]
        self.emit("preproc", node.start_byte, head.end_byte, depth)
        for child in node.children:
            if child.start_byte < head.end_byte:
                continue
            if child.type == "#endif":
                self.emit("preproc", child.start_byte, child.end_byte, depth)
            elif child.is_named:
                self.items([child], depth)

    def directive(self, node: Node, depth: int) -> None:
        self.emit("preproc", node.start_byte, node.end_byte, depth)

    def nested_definition(self, node: Node, depth: int) -> None:
        """What the grammar reads as a function defined in a body: a macro with a block
        (`scoped_guard(rcu) { ... }`), or GCC's nested function: its head, then its body."""
        body = node.child_by_field_name("body")
        self.emit("statement", node.start_byte, body.start_byte if body is not None else node.end_byte, depth)
        if body is not None:
            self.items(body.children, depth + 1)


_HEADERS = ("if", "else", "while", "do", "for", "switch")
_SIMPLE = ("declaration", "type_definition", "expression_statement", "return_statement", "goto_statement",
           "break_statement", "continue_statement", "seh_leave_statement")


def _is_empty_statement(node: Node) -> bool:
    return node.type == "expression_statement" and node.named_child_count == 0


def _end(node: Node | None, fallback: Node) -> int:
    return node.end_byte if node is not None else fallback.start_byte


# What each kind of node in a function body becomes; tests/drift/test_c_source.py checks that
# every statement kind of the grammar and every other item a body may hold is here.
BODY_RULES: dict[str, Callable[[_Walk, Node, int], None]] = {
    **{kind: _Walk.simple for kind in _SIMPLE},
    "compound_statement": _Walk.block,
    "if_statement": _Walk.if_,
    "while_statement": _Walk.while_,
    "for_statement": _Walk.for_,
    "do_statement": _Walk.do,
    "switch_statement": _Walk.switch,
    "case_statement": _Walk.case,
    "labeled_statement": _Walk.label,
    "attributed_statement": _Walk.attributed,
    "seh_try_statement": _Walk.simple,        # Microsoft's __try: never in the kernel
    "preproc_if": _Walk.conditional,
    "preproc_ifdef": _Walk.conditional,
    "preproc_elif": _Walk.conditional,
    "preproc_elifdef": _Walk.conditional,
    "preproc_else": _Walk.conditional,
    "preproc_include": _Walk.directive,
    "preproc_def": _Walk.directive,
    "preproc_function_def": _Walk.directive,
    "preproc_call": _Walk.directive,
    "function_definition": _Walk.nested_definition,
    "linkage_specification": _Walk.simple,
}
