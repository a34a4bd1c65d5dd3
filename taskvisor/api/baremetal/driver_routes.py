"""GET /v1/drivers, /v1/drivers/{name}, …/properties and
…/raid/logical_disk_properties: Ironic's driver (hardware type) API, built
from what live conductors recorded (``drivers.active_drivers``)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from taskvisor.api.baremetal import drivers
from taskvisor.api.baremetal.nodes import _bool, base_url, minor
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import ApiError, BadRequest, NotFound
from taskvisor.api.policy import authorize

router = APIRouter(prefix="/baremetal")  # the full prefix, so flat_routes.flatten() can lift these routes
INTERFACES = ("bios", "boot", "console", "deploy", "firmware", "inspect", "management", "network", "power", "raid",
              "rescue", "storage", "vendor")
# interface kind -> first minor version showing its default_/enabled_ fields (others: from 1.30)
_INTERFACE_SINCE = {"storage": 33, "rescue": 38, "bios": 40, "firmware": 86}


def _not_acceptable(since: int) -> ApiError:
    return ApiError(406, f"Request not acceptable. The minimal required API version should be 1.{since}")


def _links(base: str, path: str) -> list[dict]:
    return [{"href": f"{base}/v1/drivers/{path}", "rel": "self"}, {"href": f"{base}/drivers/{path}", "rel": "bookmark"}]


def render(name: str, record: dict, m: int, base: str, detail: bool) -> dict:
    out = {"name": name, "hosts": record["hosts"], "links": _links(base, name)}
    if m >= 14:
        out["properties"] = _links(base, f"{name}/properties")
    if m >= 30:
        out["type"] = "dynamic"
        if detail:
            interfaces = record.get("interfaces") or {}
            enabled = record.get("enabled_interfaces") or {}
            for kind in INTERFACES:
                if _INTERFACE_SINCE.get(kind, 30) <= m:
                    out[f"default_{kind}_interface"] = interfaces.get(kind)
                    out[f"enabled_{kind}_interfaces"] = list(enabled.get(kind) or [])
    return out


def _select(driver: dict, fields: str | None, m: int) -> dict:
    """``?fields=`` (1.77): keep these (and links), 400 for one a driver has not."""
    if fields is None:
        return driver
    if m < 77:
        raise _not_acceptable(77)
    names = [f.strip() for f in fields.split(",") if f.strip()]
    invalid = [n for n in names if n not in driver]
    if invalid:
        raise BadRequest(f"Field(s) \"{', '.join(invalid)}\" are not valid")
    return {k: v for k, v in driver.items() if k in names or k == "links"}


def _active(request: Request) -> dict[str, dict]:
    tv = request.app.state.tv
    with tv.db.read() as conn:
        return drivers.active_drivers(conn, tv.conf.DEFAULT.service_down_time)


def _one(request: Request, name: str) -> dict:
    record = _active(request).get(name)
    if record is None:
        raise NotFound(f"Could not find the following driver(s) or hardware type(s): {name[:255]}.")
    return record


@router.get("/v1/drivers")
def list_drivers(request: Request, ctx: RequestContext = Depends(get_context), type: str | None = None,
                 detail: str | None = None, fields: str | None = None):
    m = minor(ctx)
    show_detail = _bool("detail", detail) if detail is not None else None
    if fields is not None and show_detail:
        raise BadRequest("Can not specify ?detail=True and fields in the same request.")
    authorize(ctx, "baremetal:driver:get")
    if (type is not None or detail is not None) and m < 30:
        raise _not_acceptable(30)
    if fields is not None and m < 77:
        raise _not_acceptable(77)
    if type not in (None, "classic", "dynamic"):
        raise BadRequest('"type" filter must be one of "classic" or "dynamic", if specified.')
    found = {} if type == "classic" else _active(request)  # no classic drivers, as Ironic since Rocky
    base = base_url(request)
    return {"drivers": [_select(render(name, found[name], m, base, bool(show_detail)), fields, m)
                        for name in sorted(found)]}


@router.get("/v1/drivers/{driver_name}")
def show_driver(driver_name: str, request: Request, ctx: RequestContext = Depends(get_context),
                fields: str | None = None):
    authorize(ctx, "baremetal:driver:get")
    if fields is not None and minor(ctx) < 77:
        raise _not_acceptable(77)
    record = _one(request, driver_name)
    return _select(render(driver_name, record, minor(ctx), base_url(request), True), fields, minor(ctx))


@router.get("/v1/drivers/{driver_name}/properties")
def driver_properties(driver_name: str, request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "baremetal:driver:get_properties")
    return dict(_one(request, driver_name).get("properties") or {})


@router.get("/v1/drivers/{driver_name}/raid/logical_disk_properties")
def driver_raid_properties(driver_name: str, request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "baremetal:driver:get_raid_logical_disk_properties")
    if minor(ctx) < 12:
        raise _not_acceptable(12)
    properties = _one(request, driver_name).get("raid_logical_disk_properties")
    if not properties:
        raise NotFound(f"Driver {driver_name} does not support raid (disabled or not implemented).")
    return dict(properties)
