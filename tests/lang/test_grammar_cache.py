"""The parser tables saved on disk (lang/grammar_cache.py): loaded instead of rebuilt, the same
parser either way, and a damaged or unwritable cache never in the way."""

from __future__ import annotations

from pathlib import Path

import lark
import pytest

from objcg_proof.lang import grammar_cache, parser
from objcg_proof.lang.diagnostics import UserError

ROOT = Path(__file__).resolve().parents[2]
MODEL = (ROOT / "models" / "objcg_v3.dsl").read_text(encoding="utf-8")


def build() -> lark.Lark:
    return parser.build_lark(parser.grammar_text())


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(grammar_cache.CACHE_VARIABLE, str(tmp_path / "cache"))
    parser._lark.cache_clear()
    yield tmp_path / "cache"
    parser._lark.cache_clear()


def positions(tree: lark.Tree) -> list[tuple[str, int, int, int, int]]:
    return [(t.data, t.meta.line, t.meta.column, t.meta.end_line, t.meta.end_column)
            for t in tree.iter_subtrees() if not t.meta.empty]


def test_the_second_parser_is_loaded_and_parses_as_the_first(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = build()
    [saved] = cache.iterdir()
    assert saved.name.startswith("grammar-") and saved.stat().st_size > 0

    def no_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("the tables were built again instead of loaded")
    monkeypatch.setattr(lark.Lark, "__init__", no_build)
    loaded = build()
    a, b = fresh.parse(MODEL), loaded.parse(MODEL)
    assert a == b and positions(a) == positions(b) and positions(a)


def test_a_syntax_error_reads_the_same_from_loaded_tables(cache: Path) -> None:
    bad = "shared word x;\nthread T { x = ; }\n"
    messages = []
    for _ in range(2):   # built (and saved), then loaded
        parser._lark.cache_clear()
        with pytest.raises(UserError) as exc:
            parser.parse_text(bad, "bad.dsl")
        messages.append(str(exc.value))
    assert len(list(cache.iterdir())) == 1
    assert messages[0] == messages[1] and "bad.dsl:2:" in messages[0]


def test_another_grammar_is_another_file(cache: Path) -> None:
    build()
    parser.build_lark(parser.grammar_text() + "\n// a comment changes the key\n")
    assert len(list(cache.iterdir())) == 2


def test_a_damaged_file_is_ignored_and_written_again(cache: Path) -> None:
    build()
    [saved] = cache.iterdir()
    saved.write_bytes(b"not a saved parser\n" * 10)
    again = build()
    assert again.parse(MODEL) == build().parse(MODEL)
    assert saved.read_bytes()[:19] != b"not a saved parser\n"   # replaced by loadable tables


def test_an_unwritable_cache_leaves_the_parser_in_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    monkeypatch.setenv(grammar_cache.CACHE_VARIABLE, str(blocked / "cache"))   # a directory under a file
    assert build().parse(MODEL) is not None


def test_an_empty_variable_turns_the_cache_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(grammar_cache.CACHE_VARIABLE, "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert grammar_cache.cache_directory() is None
    build()
    assert list(tmp_path.iterdir()) == []


def test_the_default_directory_follows_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(grammar_cache.CACHE_VARIABLE, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert grammar_cache.cache_directory() == tmp_path / "objcg-prove"
