"""The app's route index (api/flat_routes.index) finds, for every path, the
route the plain in-order walk of the route table finds; and the Bare Metal
routes are in that table (flattened), the catch-all after the states routes."""
from __future__ import annotations

import re

from starlette.routing import Match

from taskvisor.api.flat_routes import _MATCHED, _Index


def _scope(method: str, path: str) -> dict:
    return {"type": "http", "method": method, "path": path, "root_path": "", "query_string": b"", "headers": []}


def _walk(table: list, scope: dict):
    """What Starlette's router does with a plain table: the first full match,
    else the first partial one (a 405)."""
    partial = None
    for route in table:
        match, child = route.matches(scope)
        if match == Match.FULL:
            return match, route
        if match == Match.PARTIAL and partial is None:
            partial = (match, route)
    return partial or (Match.NONE, None)


def test_index_finds_what_the_walk_finds(cloud):
    app = cloud.client.app
    table = app.state.route_table
    (index,) = app.router.routes
    assert isinstance(index, _Index)
    assert not any(type(r).__name__ == "_IncludedRouter" for r in table)  # every router was lifted
    assert sum(r.path.startswith("/baremetal") for r in table) > 100
    checked = 0
    for route in table:
        path = re.sub(r"\{[^}]+\}", "x1", route.path)
        for method in sorted(route.methods or {"GET"}) + ["PATCH", "TRACE"]:
            expected = _walk(table, _scope(method, path))
            match, child = index.matches(_scope(method, path))
            assert (match, child[_MATCHED] if match != Match.NONE else None) == expected, (method, path)
            checked += 1
    for path in ("/nope", "/", "/baremetal/v1/nodes/x/states/bogus", "//compute"):
        expected = _walk(table, _scope("PUT", path))
        match, child = index.matches(_scope("PUT", path))
        assert (match, child[_MATCHED] if match != Match.NONE else None) == expected, path
    assert checked > 500


def test_unknown_state_action_comes_after_the_states_routes(cloud):
    paths = [(r.path, sorted(r.methods or [])) for r in cloud.client.app.state.route_table]
    catch_all = paths.index(("/baremetal/v1/nodes/{ident}/states/{action}", ["PUT"]))
    assert paths.index(("/baremetal/v1/nodes/{ident}/states/power", ["PUT"])) < catch_all
    assert paths.index(("/baremetal/v1/nodes/{ident}/states/provision", ["PUT"])) < catch_all
    resp = cloud.client.put("/baremetal/v1/nodes/x/states/bogus", headers={"X-Roles": "admin"}, json={})
    assert resp.status_code == 405
