"""Every page template's scrolling table box (`table-wrap`) can be reached by keyboard and is
a named region (role="region" and an aria-label: the table's heading), so a screen reader
says what the focused box holds (WCAG 4.1.2); and no element is given both aria-labelledby and
aria-label (the first wins and the second is lost). Read from the templates themselves: a
new page is checked without a test of its own."""

from __future__ import annotations

import re
from pathlib import Path

SERVICE = Path(__file__).resolve().parents[2] / "service"
TEMPLATES = sorted(p for p in SERVICE.rglob("*.html") if "templates" in p.parent.name)
_TAG = re.compile(r"<[a-z]+\b[^>]*>", flags=re.S)


def _tags(path: Path) -> list[str]:
    return _TAG.findall(path.read_text(encoding="utf-8"))


def test_every_scrolling_table_is_a_named_region() -> None:
    boxes = [(path.relative_to(SERVICE), tag) for path in TEMPLATES for tag in _tags(path)
             if re.search(r'class="[^"]*\btable-wrap\b', tag)]
    assert len(boxes) > 20  # the templates were found
    unnamed = [(str(path), tag) for path, tag in boxes
               if 'tabindex="0"' not in tag or 'role="region"' not in tag
               or not re.search(r'aria-label="[^"]+"', tag)]
    assert not unnamed, unnamed


def test_no_element_has_both_aria_labelledby_and_aria_label() -> None:
    both = [(str(path.relative_to(SERVICE)), tag) for path in TEMPLATES for tag in _tags(path)
            if "aria-labelledby=" in tag and "aria-label=" in tag]
    assert not both, both
