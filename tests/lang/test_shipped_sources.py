"""A model compiled from the files another process read (NOTE(shipped-sources) in
lang/diagnostics.py): the same module where none of its files exist, includes and a file
included under two names too; a name that was not shipped is refused, never read from disk."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from objcg_proof.lang.diagnostics import SourceCache, SourceFile, UserError
from objcg_proof.lang.parser import load_model
from objcg_proof.lang.resolve import resolve

ROOT = Path(__file__).resolve().parents[2]


def load_elsewhere(path: str, files: tuple[SourceFile, ...], where: Path) -> tuple[object, SourceCache]:
    """load_model from the shipped files, in a directory where no model file exists."""
    here = os.getcwd()
    os.chdir(where)
    try:
        sources = SourceCache.shipped(files)
        return load_model(path, sources), sources
    finally:
        os.chdir(here)


def test_a_shipped_model_with_includes_compiles_to_the_same_program(tmp_path):
    path = os.path.relpath(ROOT / "tests" / "narrow" / "objcg_v5.dsl")
    sources = SourceCache()
    module = load_model(path, sources)
    files = sources.files()
    # the model, the design it narrows, the harness that design includes
    assert [Path(f.shown).name for f in files] == ["objcg_v5.dsl", "objcg_v5.dsl", "objcg.dsl"]
    assert all(f.text == sources.texts[f.shown] for f in files)
    shipped_module, shipped = load_elsewhere(path, files, tmp_path)
    assert not (tmp_path / path).exists()
    assert shipped_module == module
    assert resolve(shipped_module, {}, None) == resolve(module, {}, None)
    assert shipped.texts == sources.texts
    assert shipped.line(files[-1].shown, 1) == sources.line(files[-1].shown, 1)


def test_a_file_included_under_two_names_is_still_one_file(models, tmp_path):
    models.write("shared word x = 0;\n", "lib/a.dsl")
    (models.root / "alias").symlink_to(models.root / "lib")
    models.write('include "lib/a.dsl";\ninclude "alias/a.dsl";\nthread T { x = 1; }\n')
    sources = SourceCache()
    module = load_model("m.dsl", sources)
    assert [f.shown for f in sources.files()] == ["m.dsl", "lib/a.dsl", "alias/a.dsl"]
    shipped_module, _ = load_elsewhere("m.dsl", sources.files(), tmp_path)
    assert shipped_module == module   # x declared once, as where the files are


def test_a_name_that_was_not_shipped_is_not_read_from_disk(models):
    models.write("shared word x = 0;\n", "lib/a.dsl")
    models.write('include "lib/a.dsl";\nthread T { x = 1; }\n')
    sources = SourceCache()
    load_model("m.dsl", sources)
    only_the_model = tuple(f for f in sources.files() if f.shown == "m.dsl")
    with pytest.raises(UserError) as caught:
        load_model("m.dsl", SourceCache.shipped(only_the_model))   # lib/a.dsl is on this disk
    assert caught.value.diagnostics[0].message == \
        "cannot open 'lib/a.dsl': not among the model files shipped with the task"
