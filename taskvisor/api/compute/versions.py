"""Version discovery: the clients need id, status, version, min_version and
a self link built from the address they used. The handlers are async: they
do no I/O, so they run on the event loop without a thread hand-off."""
from __future__ import annotations

from fastapi import APIRouter, Request

from taskvisor.api.microversion import MAX_VERSION, MIN_VERSION, fmt

router = APIRouter()


def _v21(base: str) -> dict:
    return {"id": "v2.1", "status": "CURRENT", "version": fmt(MAX_VERSION), "min_version": fmt(MIN_VERSION),
            "updated": "2013-07-23T11:33:21Z",
            "links": [{"rel": "self", "href": f"{base}/compute/v2.1/"},
                      {"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.compute+json;version=2.1"}]}


def _v20(base: str) -> dict:
    return {"id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "",
            "updated": "2011-01-21T11:33:21Z", "links": [{"rel": "self", "href": f"{base}/compute/v2/"}]}


@router.get("/compute")
@router.get("/compute/")
async def compute_root(request: Request):
    base = str(request.base_url).rstrip("/")
    return {"versions": [_v20(base), _v21(base)]}


@router.get("/compute/v2.1")
@router.get("/compute/v2.1/")
async def compute_v21(request: Request):
    return {"version": _v21(str(request.base_url).rstrip("/"))}


@router.get("/compute/v2")
@router.get("/compute/v2/")
async def compute_v20(request: Request):
    """The v2.0 document (Nova serves v2.0 as v2.1 without microversions)."""
    doc = _v20(str(request.base_url).rstrip("/"))
    doc["links"].append({"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"})
    doc["media-types"] = [{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2"}]
    return {"version": doc}
