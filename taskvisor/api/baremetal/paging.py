"""Ironic's list parameters as every bare-metal list checks them (one
wording, one rule): ``sort_dir`` is asc or desc, and ``limit`` is at most
``[api] max_limit`` (negative: 400; 0 or above the maximum: the maximum)."""
from __future__ import annotations

from taskvisor.api.errors import BadRequest


def check_sort_dir(sort_dir: str) -> None:
    if sort_dir not in ("asc", "desc"):
        raise BadRequest(f"Invalid sort direction: {sort_dir[:16]}. Acceptable values are 'asc' or 'desc'")


def page_limit(limit: int | None, max_limit: int) -> int:
    if limit is not None and limit < 0:
        raise BadRequest(f"Limit must be positive: {str(limit)[:20]}")
    return min(limit or max_limit, max_limit)
