"""One flat route table for the app.

FastAPI (0.16x) keeps every ``include_router`` as a lazy wrapper: each
request then matches every nested router twice (once to choose it, once
inside it) and re-walks the whole tree to check no route was added since.
Profiled under the lifecycle benchmark that was the largest single cost of
a request. Our routers are included without a prefix, dependencies or any
other option, so their own routes are already complete: lifting them into
the app's route list, in the same order, answers every request as before
(and the OpenAPI document is the same) with one linear match. (A lifted route no longer consults
``app.dependency_overrides``: nothing here uses them.)
"""
from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import _IncludedRouter, _RouterIncludeContext

_PLAIN = _RouterIncludeContext(included_router=None)  # what include_router(r) with no options records


def _plain(context: _RouterIncludeContext) -> bool:
    return all(getattr(context, name) == getattr(_PLAIN, name) for name in
               ("prefix", "tags", "dependencies", "responses", "callbacks", "deprecated", "include_in_schema",
                "max_body_size")) \
        and not context.included_router._low_priority_routes


def _lift(routes: list) -> list:
    flat = []
    for route in routes:
        if isinstance(route, _IncludedRouter) and _plain(route.include_context):
            flat.extend(_lift(route.original_router.routes))
        else:
            flat.append(route)  # anything else is kept as FastAPI built it
    return flat


def flatten(app: FastAPI) -> None:
    app.router.routes[:] = _lift(app.router.routes)


# -- an index on the first path segment ---------------------------------------
# With every route lifted the table is one list of ~270 routes, which the
# router walks in order, one regular expression each, for every request: a
# /baremetal request near the end paid ~10 % of its CPU for it. Routes whose
# first segments are different literals can never match the same path, so
# grouping the table by that segment (each group in the table's order) gives
# the same answers for one dictionary look-up.
from starlette.routing import BaseRoute, Match, NoMatchFound, Route, get_route_path  # noqa: E402

_MATCHED = "taskvisor.matched_route"


def _head(path: str) -> str | None:
    """A path's first segment, or None when it is not a literal."""
    head = path.lstrip("/").split("/", 1)[0]
    return None if "{" in head else head


class _FirstSegment(BaseRoute):
    """The routes of one first path segment, matched in order (only through
    _Index: the router hands the request to _Index.handle)."""

    def __init__(self, routes: list[Route]):
        self.routes = routes

    def matches(self, scope):
        partial = None
        for route in self.routes:
            match, child_scope = route.matches(scope)
            if match == Match.FULL:
                child_scope[_MATCHED] = route
                return match, child_scope
            if match == Match.PARTIAL and partial is None:
                child_scope[_MATCHED] = route
                partial = child_scope
        return (Match.PARTIAL, partial) if partial is not None else (Match.NONE, {})

    def url_path_for(self, name: str, /, **path_params):
        for route in self.routes:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                pass
        raise NoMatchFound(name, path_params)


class _Index(BaseRoute):
    """Every route, found by the first segment of the request's path."""

    def __init__(self, groups: dict[str, _FirstSegment]):
        self.groups = groups

    def matches(self, scope):
        group = self.groups.get(_head(get_route_path(scope)) or "")
        return group.matches(scope) if group is not None else (Match.NONE, {})

    async def handle(self, scope, receive, send):
        await scope.pop(_MATCHED).handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params):
        for group in self.groups.values():
            try:
                return group.url_path_for(name, **path_params)
            except NoMatchFound:
                pass
        raise NoMatchFound(name, path_params)


def index(app: FastAPI) -> list:
    """Replace the app's (flat) route table by one index over it, when every
    route is a plain route with a literal first segment; returns the table as
    it was (the OpenAPI document is built from that)."""
    table = list(app.router.routes)
    groups: dict[str, list] = {}
    for route in table:
        path = getattr(route, "path", None)
        if not isinstance(route, Route) or path is None or _head(path) is None:
            return table  # a mount, a websocket or a parameter first: keep the plain walk
        groups.setdefault(_head(path), []).append(route)
    app.router.routes[:] = [_Index({head: _FirstSegment(routes) for head, routes in groups.items()})]
    return table
