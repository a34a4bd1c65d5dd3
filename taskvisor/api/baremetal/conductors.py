"""GET /v1/conductors and /v1/conductors/{hostname} (1.49; 404 before, as
Ironic): the conductor services registered, alive when their heartbeat is
recent, with the group and drivers each recorded when it started."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from taskvisor.api.baremetal.paging import check_sort_dir, page_limit
from taskvisor.api.baremetal import drivers, stepsets, views
from taskvisor.api.baremetal.nodes import _bool, base_url, minor
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import ApiError, BadRequest, NotFound
from taskvisor.api.policy import authorize
from taskvisor.api.responses import JsonResponse

router = APIRouter(prefix="/baremetal")  # the full prefix, so flat_routes.flatten() can lift these routes
SINCE = 49
FIELDS = ("alive", "conductor_group", "created_at", "drivers", "hostname", "links", "updated_at")
DEFAULT_FIELDS = ("hostname", "conductor_group", "alive")
_SORT_KEYS = ("id", "hostname", "conductor_group", "created_at", "updated_at")


def _gate(ctx: RequestContext) -> None:
    if minor(ctx) < SINCE:
        raise ApiError(404, "The resource could not be found.")


def render(cond: dict, base: str, fields) -> dict:
    host = cond["hostname"]
    full = {"hostname": host, "conductor_group": cond["conductor_group"], "alive": cond["alive"],
            "drivers": cond["drivers"], "created_at": views.iso_utc(cond["created_at"]),
            "updated_at": views.iso_utc(cond["updated_at"]),
            "links": [{"href": f"{base}/v1/conductors/{host}", "rel": "self"},
                      {"href": f"{base}/conductors/{host}", "rel": "bookmark"}]}
    return {k: v for k, v in full.items() if k in fields or k == "links"}


def _all(request: Request) -> list[dict]:
    tv = request.app.state.tv
    with tv.db.read() as conn:
        return drivers.conductors(conn, tv.conf.DEFAULT.service_down_time)


@router.get("/v1/conductors")
def list_conductors(request: Request, ctx: RequestContext = Depends(get_context), marker: str | None = None,
                    limit: int | None = None, sort_key: str = "id", sort_dir: str = "asc",
                    fields: str | None = None, detail: str | None = None):
    _gate(ctx)
    authorize(ctx, "baremetal:conductor:get")
    wanted = stepsets.parse_fields(fields, FIELDS)
    show_detail = _bool("detail", detail) if detail is not None else False
    if wanted is not None and show_detail:
        raise BadRequest("Can not specify ?detail=True and fields in the same request.")
    if sort_key in ("alive", "drivers"):
        raise BadRequest(f"The sort_key value {sort_key} is an invalid field for sorting")
    if sort_key not in _SORT_KEYS:
        raise BadRequest(f"The sort_key value {sort_key[:64]} is an invalid field for sorting")
    check_sort_dir(sort_dir)
    limit = page_limit(limit, request.app.state.tv.conf.api.max_limit)
    found = _all(request)  # service rows in id order: "id" sorts as registered
    if sort_key != "id":
        found.sort(key=lambda c: (c[sort_key] is None, c[sort_key] if c[sort_key] is not None else "",
                                  c["hostname"]))
    if sort_dir == "desc":
        found.reverse()
    if marker is not None:
        hosts = [c["hostname"] for c in found]
        if marker not in hosts:
            raise NotFound(f"Conductor {marker[:255]} could not be found.")
        found = found[hosts.index(marker) + 1:]
    page = found[:limit]
    base = base_url(request)
    shown = wanted or (FIELDS if show_detail else DEFAULT_FIELDS)
    out = {"conductors": [render(c, base, shown) for c in page]}
    if len(found) > limit:
        params = f"limit={limit}&sort_key={sort_key}&sort_dir={sort_dir}&marker={page[-1]['hostname']}"
        if detail is not None:
            params += f"&detail={str(show_detail)}"
        out["next"] = f"{base}/v1/conductors?{params}"
    return JsonResponse(out)


@router.get("/v1/conductors/{hostname}")
def show_conductor(hostname: str, request: Request, ctx: RequestContext = Depends(get_context),
                   fields: str | None = None):
    _gate(ctx)
    authorize(ctx, "baremetal:conductor:get")
    wanted = stepsets.parse_fields(fields, FIELDS)
    for cond in _all(request):
        if cond["hostname"] == hostname:
            return JsonResponse(render(cond, base_url(request), wanted or FIELDS))
    raise NotFound(f"Conductor {hostname[:255]} could not be found.")
