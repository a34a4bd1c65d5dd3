"""A node's virtual media (1.89+): POST /v1/nodes/{id}/vmedia attaches an
image (``device_type``, ``image_url``), DELETE detaches (``device_types``,
default all); each a task on the node's management interface
(node_vmedia), which the request waits for, since Ironic answers 204 once
done. GET (1.93+) shows what is attached. Below 1.89 the resource does not
exist (404); another method on it is 405."""
from __future__ import annotations

from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Request

from taskvisor.api import openapi
from taskvisor.api.baremetal.actions import start_node_task
from taskvisor.api.baremetal.node_management import answer_when_done, node_for
from taskvisor.api.baremetal.nodes import minor
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import ApiError, BadRequest, NotFound
from taskvisor.api.validation import json_body, validate

router = APIRouter(prefix="/baremetal")  # the full prefix, so flat_routes.flatten() can lift these routes
SINCE, GET_SINCE = 89, 93
DEVICES = ("disk", "cdrom", "floppy")  # Ironic's boot_devices.VMEDIA_DEVICES
SCHEMES = ("http", "https", "nfs", "cifs", "smb")  # what Ironic's image publisher serves
BODY = {"type": "object", "required": ["device_type", "image_url"], "additionalProperties": False, "properties": {
    "device_type": {"type": "string", "enum": list(DEVICES)}, "image_url": {"type": "string"},
    "image_download_source": {"type": "string", "enum": ["http", "local", "swift"]}}}


def _gate(ctx: RequestContext, since: int = SINCE) -> None:
    if minor(ctx) < since:
        raise NotFound("The resource could not be found.")


@router.post("/v1/nodes/{ident}/vmedia", status_code=204, openapi_extra=openapi.body(BODY))
def attach_vmedia(ident: str, request: Request, ctx: RequestContext = Depends(get_context), body=Depends(json_body)):
    _gate(ctx)
    media = validate(body, BODY)
    scheme = urlparse(media["image_url"]).scheme
    if scheme not in SCHEMES:
        raise BadRequest(f"Unsupported or missing URL scheme: {scheme}")
    node = node_for(request, ctx, ident, "baremetal:node:vmedia:attach")
    started = start_node_task(request, ctx, node, action="vmedia", flow="node_vmedia", sources=None, values={},
                              params={"attach": {"device_type": media["device_type"],
                                                 "image_url": media["image_url"]}})
    return answer_when_done(request, started, f"Attaching virtual media to node {node['id']} failed.")


@router.delete("/v1/nodes/{ident}/vmedia", status_code=204)
def detach_vmedia(ident: str, request: Request, ctx: RequestContext = Depends(get_context),
                  device_types: str | None = None):
    _gate(ctx)
    devices = [d.strip() for d in (device_types or "").split(",") if d.strip()]
    invalid = [d for d in devices if d not in DEVICES]
    if invalid:
        raise BadRequest(f"Invalid device type(s) {', '.join(invalid)[:128]} (valid are {', '.join(DEVICES)})")
    node = node_for(request, ctx, ident, "baremetal:node:vmedia:detach")
    started = start_node_task(request, ctx, node, action="vmedia", flow="node_vmedia", sources=None, values={},
                              params={"detach": devices})
    return answer_when_done(request, started, f"Detaching virtual media from node {node['id']} failed.")


@router.get("/v1/nodes/{ident}/vmedia")
def get_vmedia(ident: str, request: Request, ctx: RequestContext = Depends(get_context)):
    _gate(ctx, GET_SINCE)
    node = node_for(request, ctx, ident, "baremetal:node:vmedia:get")
    attached = (node["driver_internal_info"] or {}).get("vmedia") or {}  # flows/node_vmedia.py keeps it
    return {"vmedia": [{"device_type": d, "image_url": url} for d, url in sorted(attached.items())]}


@router.put("/v1/nodes/{ident}/vmedia", include_in_schema=False)
def vmedia_other_method(ident: str, ctx: RequestContext = Depends(get_context)):
    """Ironic's lookup answers 404 below 1.89 whatever the method; then 405."""
    _gate(ctx)
    raise ApiError(405, "The method is not allowed for the requested URL.")
