"""Bare Metal API microversions, as Ironic negotiates them.

``X-OpenStack-Ironic-API-Version: 1.x`` (or ``OpenStack-API-Version:
baremetal 1.x``); none = 1.1; ``latest`` = our maximum. Every response
carries the minimum, maximum and served version; a version out of range
gets 406 with the range in the headers (the ``baremetal`` CLI asks for
1.115 and negotiates down from that answer).
"""
from __future__ import annotations

import re

from taskvisor.api.errors import ApiError

MIN_VERSION = (1, 1)
MAX_VERSION = (1, 115)  # Ironic 39.0's maximum; we serve the node subset of it
HEADER = "X-OpenStack-Ironic-API-Version"
MIN_HEADER = "X-OpenStack-Ironic-API-Minimum-Version"
MAX_HEADER = "X-OpenStack-Ironic-API-Maximum-Version"
_FORMAT = re.compile(r"^(\d{1,4})\.(\d{1,4})$")  # bounded: never int() of a huge string


def fmt(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def range_headers() -> dict[str, str]:
    return {MIN_HEADER: fmt(MIN_VERSION), MAX_HEADER: fmt(MAX_VERSION)}


def requested(headers) -> str | None:
    value = headers.get("openstack-api-version")
    if value:
        for item in value.split(","):
            service, _, ver = item.strip().partition(" ")
            if service.lower() == "baremetal" and ver.strip():
                return ver.strip()
    return headers.get(HEADER.lower())


def parse(headers) -> tuple[int, int]:
    text = requested(headers)
    if text is None:
        return MIN_VERSION
    if text.strip().lower() == "latest":
        return MAX_VERSION
    match = _FORMAT.match(text.strip()) if len(text) <= 16 else None
    if not match:
        raise ApiError(406, f"Invalid value for {HEADER} header", {HEADER: fmt(MAX_VERSION)})
    version = (int(match.group(1)), int(match.group(2)))
    if version[0] != MIN_VERSION[0]:
        raise ApiError(406, f"Mutually exclusive versions requested. Version {fmt(version)} requested but not "
                            f"supported by this service. The supported version range is: "
                            f"[{fmt(MIN_VERSION)}, {fmt(MAX_VERSION)}].", {HEADER: fmt(MAX_VERSION)})
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise ApiError(406, f"Version {fmt(version)} was requested but the minor version is not supported by "
                            f"this service. The supported version range is: "
                            f"[{fmt(MIN_VERSION)}, {fmt(MAX_VERSION)}].", {HEADER: fmt(MAX_VERSION)})
    return version


def version_doc(base_url: str) -> dict:
    return {"id": "v1", "links": [{"href": f"{base_url}/v1/", "rel": "self"}], "status": "CURRENT",
            "min_version": fmt(MIN_VERSION), "version": fmt(MAX_VERSION)}


def root_doc(base_url: str) -> dict:
    return {"name": "OpenStack Ironic API",
            "description": "Ironic is an OpenStack project which enables the provision and management of "
                           "baremetal machines.",
            "default_version": version_doc(base_url), "versions": [version_doc(base_url)]}


# Resources /v1 links to from the microversion that introduced each
# (Ironic's VERSIONED_CONTROLLERS), among those taskvisor serves.
VERSIONED_LINKS = {"portgroups": 23, "volume": 32, "conductors": 49, "allocations": 52, "deploy_templates": 55,
                   "shards": 82, "runbooks": 92, "inspection_rules": 96}


def v1_doc(base_url: str, version: tuple[int, int] = MIN_VERSION) -> dict:
    def links(name: str) -> list[dict]:
        return [{"href": f"{base_url}/v1/{name}/", "rel": "self"}, {"href": f"{base_url}/{name}/", "rel": "bookmark"}]
    doc = {"id": "v1",
           "links": [{"href": f"{base_url}/v1/", "rel": "self"},
                     {"href": "https://docs.openstack.org//ironic/latest/contributor//webapi.html",
                      "rel": "describedby", "type": "text/html"}],
           "media_types": {"base": "application/json", "type": "application/vnd.openstack.ironic.v1+json"},
           "chassis": links("chassis"), "nodes": links("nodes"), "ports": links("ports"),
           "drivers": links("drivers"), "version": version_doc(base_url)}
    for name, since in VERSIONED_LINKS.items():
        if version[1] >= since:
            doc[name] = links(name)
    return doc
