"""Node list filters newer than 1.1 and the microversion each needs:
Ironic answers 406 for a filter the request's version does not have."""
from __future__ import annotations

from dataclasses import dataclass, fields

from taskvisor.api.baremetal.drivers import node_conductor
from taskvisor.api.errors import ApiError, BadRequest
from taskvisor.db.models import nodes

# filter -> first minor version accepting it (Ironic's check_allow_filter_* helpers)
SINCE = {"driver": 16, "resource_class": 21, "fault": 42, "conductor_group": 46, "conductor": 49, "owner": 50,
         "lessee": 65, "shard": 82, "sharded": 82}
VALID_FAULTS = ("power failure", "clean failure", "rescue abort failure", "service failure")
# the columns ``drivers.node_conductor`` reads, selected when filtering by conductor
CONDUCTOR_COLUMNS = (nodes.c.id, nodes.c.driver, nodes.c.reservation, nodes.c.conductor_group)


@dataclass
class NodeFilters:
    """Query parameters of GET /v1/nodes and /v1/nodes/detail (a FastAPI dependency)."""
    fault: str | None = None
    conductor_group: str | None = None
    conductor: str | None = None
    owner: str | None = None
    lessee: str | None = None
    shard: str | None = None
    sharded: str | None = None

    def given(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


async def from_query(fault: str | None = None, conductor_group: str | None = None, conductor: str | None = None,
                     owner: str | None = None, lessee: str | None = None, shard: str | None = None,
                     sharded: str | None = None) -> NodeFilters:
    """The dependency the node lists take (the same query parameters as the
    class): ``async``, as FastAPI runs a class or a plain function dependency
    in its thread pool, one more thread hand-off per list request."""
    return NodeFilters(fault, conductor_group, conductor, owner, lessee, shard, sharded)


def check_versions(values: dict, minor: int) -> None:
    for name, value in values.items():
        since = SINCE.get(name, 1)
        if value is not None and since > minor:
            raise ApiError(406, f"Request not acceptable. The minimal required API version should be 1.{since}")


def apply(query, flt: NodeFilters, parse_bool):
    """The filters SQL can answer (all but ``conductor``, which is computed)."""
    if flt.fault is not None:
        if flt.fault not in VALID_FAULTS:
            raise BadRequest(f'Unrecognized fault "{flt.fault}" is specified, allowed faults are '
                             f'{", ".join(VALID_FAULTS)}')
        query = query.where(nodes.c.fault == flt.fault)
    if flt.conductor_group is not None:  # stored lower case, matched so
        query = query.where(nodes.c.conductor_group == flt.conductor_group.lower())
    for column, value in ((nodes.c.owner, flt.owner), (nodes.c.lessee, flt.lessee)):
        if value is not None:
            query = query.where(column == value)
    if flt.shard is not None:  # a comma list: nodes in any of these shards
        wanted = [s.strip() for s in flt.shard.split(",") if s.strip()]
        query = query.where(nodes.c.shard.in_(wanted))
    if flt.sharded is not None:
        sharded = parse_bool("sharded", flt.sharded)
        query = query.where(nodes.c.shard.is_not(None) if sharded else nodes.c.shard.is_(None))
    return query


def by_conductor(rows, flt: NodeFilters, conductors: list[dict]):
    if flt.conductor is None:
        return rows
    return [r for r in rows if node_conductor(r, conductors) == flt.conductor]
