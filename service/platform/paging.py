"""Long lists a page at a time: how many pages a list makes (the pages read the page asked
for with `service.platform.pages.page_number`, and link them with `platform/pager.html`)."""

from __future__ import annotations


def page_count(total: int, per_page: int) -> int:
    """How many pages `total` rows make, `per_page` a page (an empty list is one page)."""
    return max(1, -(-total // per_page))
