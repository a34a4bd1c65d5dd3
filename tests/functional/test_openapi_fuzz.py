"""Schemathesis over every operation of /openapi.json, in process against a
real all-in-one (conductor, compute, SQLite): no input gets a 5xx, and no
answer has a status code the document does not list. Bounded: a fixed
number of examples per operation (TASKVISOR_FUZZ_EXAMPLES, default 25: about a minute here)."""
from __future__ import annotations

import json
import os
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error, status_code_conformance

from taskvisor.allinone import AllInOne
from tests.conftest import make_conf

@schemathesis.serializer("application/openstack-images-v2.1-json-patch")
def _json_patch(ctx, value) -> bytes:
    """Glance's JSON-patch media type is JSON."""
    return json.dumps(value).encode()


EXAMPLES = int(os.environ.get("TASKVISOR_FUZZ_EXAMPLES", "25"))
ADMIN = {"X-Project-Id": "admin", "X-User-Id": "admin", "X-Roles": "admin"}


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory):
    node = AllInOne(make_conf(tmp_path_factory.mktemp("fuzz"))).start()
    try:
        yield schemathesis.openapi.from_asgi("/openapi.json", node.app())
    finally:
        node.stop(wait=1)


def test_the_document_declares_bodies_and_list_parameters(api_schema):
    doc = api_schema.raw_schema
    create = doc["paths"]["/compute/v2.1/servers"]["post"]
    assert "server" in create["requestBody"]["content"]["application/json"]["schema"]["properties"]
    listing = {p["name"] for p in doc["paths"]["/compute/v2.1/servers"]["get"]["parameters"]}
    assert {"limit", "marker", "name", "status"} <= listing
    bodies = [op for path in doc["paths"].values() for method, op in path.items()
              if method in ("post", "put", "patch") and "requestBody" not in op]
    assert bodies == [], [op.get("operationId") for op in bodies]


def test_no_input_is_a_server_error_or_undocumented(api_schema):
    """Every operation, one after another (schemathesis' pytest plugin does
    not load under this pytest; its case generation and checks are the same)."""
    failures = []
    headers = {**ADMIN, "X-OpenStack-Ironic-API-Version": "1.115", "OpenStack-API-Version": "compute latest"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 40

    statuses: Counter = Counter()
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
        def run(case):
            response = case.call(headers=headers)
            statuses[(operation.method.upper(), response.status_code)] += 1
            case.validate_response(response, checks=[not_a_server_error, status_code_conformance])
        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected, reported together below
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:600]}")
    print("fuzzed responses by (method, status):", dict(sorted(statuses.items())))
    assert not failures, "\n\n".join(failures)
    # the fuzzer got past validation: mutating requests that were accepted
    assert sum(n for (method, code), n in statuses.items() if method != "GET" and code < 300) > 0
