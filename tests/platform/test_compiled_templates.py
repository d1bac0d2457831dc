"""The staff pages' templates are compiled once per process (`CompiledTemplates`), and a
changed template is compiled again."""

from __future__ import annotations

from pathlib import Path

from service.platform.pages import CompiledTemplates, Pages


def test_a_template_is_compiled_once_and_again_when_it_changes(tmp_path: Path) -> None:
    folder = tmp_path / "area"
    folder.mkdir()
    (folder / "hej.html").write_text("Hej {{ navn }}", encoding="utf-8")
    cache = CompiledTemplates()
    first, second = Pages({"area": folder}), Pages({"area": folder})
    for pages in (first, second):
        pages.env.bytecode_cache = cache
    compiled: list[str] = []
    for pages in (first, second):
        original = pages.env._compile  # noqa: SLF001 — count Jinja2's compilations

        def counting(source: str, filename: str, original=original) -> object:  # type: ignore[no-untyped-def]
            compiled.append(filename)
            return original(source, filename)

        pages.env._compile = counting  # type: ignore[method-assign]  # noqa: SLF001
    assert first.env.get_template("area/hej.html").render(navn="Lone") == "Hej Lone"
    assert second.env.get_template("area/hej.html").render(navn="Ib") == "Hej Ib"
    assert len(compiled) == 1  # the second app used the first one's compiled template

    (folder / "hej.html").write_text("Goddag {{ navn }}", encoding="utf-8")
    third = Pages({"area": folder})
    third.env.bytecode_cache = cache
    assert third.env.get_template("area/hej.html").render(navn="Ib") == "Goddag Ib"
