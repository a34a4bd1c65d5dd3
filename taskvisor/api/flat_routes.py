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
