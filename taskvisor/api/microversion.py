"""Compute microversions: ``OpenStack-API-Version: compute 2.x`` or
``X-OpenStack-Nova-API-Version: 2.x``; none = 2.1; ``latest`` = our maximum;
malformed → 400; out of range → 406."""
from __future__ import annotations

import re

from taskvisor.api.errors import ApiError, BadRequest

MIN_VERSION = (2, 1)
# 2.101 (taskvisor): "force" on os-stop, shelve, shelveOffload, rescue, resize and DELETE ?force=true.
MAX_VERSION = (2, 101)
# Bounded: at most 4 digits each side (a 5,000-digit minor is a 400, never a 500)
_FORMAT = re.compile(r"^([1-9]\d{0,3})\.([1-9]\d{0,3}|0)$")


def fmt(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def parse(headers) -> tuple[int, int]:
    requested = None
    value = headers.get("openstack-api-version")
    if value:
        for item in value.split(","):
            service, _, ver = item.strip().partition(" ")
            if service.lower() == "compute":
                requested = ver.strip()
    if requested is None:
        requested = headers.get("x-openstack-nova-api-version")
    if requested is None:
        return MIN_VERSION
    if requested.lower() == "latest":
        return MAX_VERSION
    match = _FORMAT.match(requested) if len(requested) <= 16 else None
    if not match:
        raise BadRequest(f"API Version String {requested[:16]} is of invalid format. Must be of format "
                         "MajorNum.MinorNum.")
    version = (int(match.group(1)), int(match.group(2)))
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise ApiError(406, f"Version {fmt(version)} is not supported by the API. Minimum is {fmt(MIN_VERSION)} "
                            f"and maximum is {fmt(MAX_VERSION)}.")
    return version
