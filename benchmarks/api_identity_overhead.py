"""Per-request cost of the identity and edge layers, in process (no network):
N requests each of a few reads and one small POST through the real app
(noauth2, SQLite, fake driver). Prints microseconds per request; compare a
checkout before and after with the same command. Never asserted.

    python benchmarks/api_identity_overhead.py [N]
"""
from __future__ import annotations

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo, for tests.conftest

from fastapi.testclient import TestClient  # noqa: E402

from taskvisor.allinone import AllInOne  # noqa: E402
from tests.conftest import make_conf  # noqa: E402


def main(n: int) -> None:
    node = AllInOne(make_conf(tempfile.mkdtemp(prefix="tv-bench-")))
    client = TestClient(node.app())
    headers = {"X-Project-Id": "p1", "X-User-Id": "u1", "X-Roles": "member", "Content-Type": "application/json"}
    cases = [("GET", "/compute/v2.1/flavors", None), ("GET", "/compute/v2.1/servers", None),
             ("GET", "/baremetal/v1/nodes", None),
             ("POST", "/compute/v2.1/flavors/1/os-extra_specs", b'{"extra_specs": {"k": "v"}}')]  # 403 for a member
    for method, path, body in cases:
        for _ in range(50):  # warm up
            client.request(method, path, content=body, headers=headers)
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(n):
            client.request(method, path, content=body, headers=headers)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        print(f"{method:4} {path:45} {wall / n * 1e6:8.0f} us/request wall  {cpu / n * 1e6:8.0f} us CPU")
    node.stop(wait=1)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
