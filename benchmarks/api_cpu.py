"""CPU per API request in process, ASGI called directly (no HTTP, no
client library in the figure): `POST /compute/v2.1/servers` and
`DELETE /compute/v2.1/servers/{id}` (what one lifecycle task costs the
API), and a few cheap GETs clients poll with. The engine is not started, so
only the API's own work is counted (the tasks stay queued). CPU is the
process's (thread pool included).

    PYTHONPATH=<tree> python benchmarks/api_cpu.py [--servers 300] [--gets 1000] [--unlimited]

``--servers``: boots measured (the project grows by that many before the
deletes); ``--unlimited``: instances, cores and RAM quotas at -1 (as
boot_delete.py runs); otherwise they are finite but large, so the quota
check has to count. Run it with PYTHONPATH set to the tree to measure.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import tempfile
import time

from taskvisor import logs
from taskvisor.allinone import AllInOne
from tests.conftest import make_conf

HEADERS = [(b"x-project-id", b"p1"), (b"x-user-id", b"u1"), (b"x-roles", b"member"), (b"host", b"bench")]


async def call(app, method: str, path: str, body: bytes = b"") -> tuple[int, dict, bytes]:
    path, _, query = path.partition("?")
    headers = list(HEADERS)
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
             "query_string": query.encode(), "headers": headers, "client": ("127.0.0.1", 1),
             "server": ("bench", 80)}
    sent = False
    out: dict = {"body": b""}

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)

    async def send(message):
        if message["type"] == "http.response.start":
            out["status"], out["headers"] = message["status"], dict(message["headers"])
        else:
            out["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return out["status"], out["headers"], out["body"]


def per_request(started_cpu: float, n: int) -> str:
    return f"{1000 * (time.process_time() - started_cpu) / n:.3f} ms CPU/request"


async def run(app, image_id: str, servers: int, gets: int) -> None:
    boot = json.dumps({"server": {"name": "b", "flavorRef": "1", "imageRef": image_id}}).encode()
    for _ in range(20):  # warm: first-call compilation and caches
        status, _, body = await call(app, "POST", "/compute/v2.1/servers", boot)
        assert status == 202, body
    ids, task_urls = [], []
    cpu = time.process_time()
    for _ in range(servers):
        status, headers, body = await call(app, "POST", "/compute/v2.1/servers", boot)
        assert status == 202, body
        ids.append(json.loads(body)["server"]["id"])
        task_urls.append(headers.get(b"x-taskvisor-task", b"").decode())
    print(f"POST   /compute/v2.1/servers                 {per_request(cpu, servers)}")
    cpu = time.process_time()
    for server_id in ids:
        status, _, body = await call(app, "DELETE", f"/compute/v2.1/servers/{server_id}")
        assert status == 204, body
    print(f"DELETE /compute/v2.1/servers/{{id}}            {per_request(cpu, servers)}")
    # the task a client polls: the boot's (queued: the engine is not started), by each of its three paths
    task_path = task_urls[0].split("bench", 1)[-1] if task_urls[0] else ""
    task_id = task_path.rsplit("/", 1)[-1]
    polls = [task_path, f"/compute/v2.1/tasks/{task_id}", f"/baremetal/v1/tasks/{task_id}"] if task_id else []
    for path in ("/healthcheck", "/compute/v2.1/flavors/1", f"/compute/v2.1/servers/{ids[0]}",
                 "/compute/v2.1/servers?limit=1", "/baremetal/v1/nodes?limit=1", *polls):
        for _ in range(50):
            status, _, body = await call(app, "GET", path)
            assert status == 200, body
        cpu = time.process_time()
        for _ in range(gets):
            await call(app, "GET", path)
        shown = path.replace(ids[0], "{id}").replace(task_id or "-", "{task_id}")
        print(f"GET    {shown:<38} {per_request(cpu, gets)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--servers", type=int, default=300)
    parser.add_argument("--gets", type=int, default=1000)
    parser.add_argument("--unlimited", action="store_true")
    args = parser.parse_args()
    logs.setup(logging.INFO)  # as the service runs (the access log line is part of a request's cost)
    logging.getLogger().handlers[0].setStream(open(os.devnull, "w"))
    limit = -1 if args.unlimited else 10 ** 6
    with tempfile.TemporaryDirectory(prefix="tv-api-cpu-") as data_dir:
        node = AllInOne(make_conf(data_dir, quota__instances=limit, quota__cores=limit, quota__ram=limit * 1000))
        try:
            app = node.app()
            image_id = None

            async def go():
                nonlocal image_id
                _, _, body = await call(app, "GET", "/image/v2/images?name=cirros")
                image_id = json.loads(body)["images"][0]["id"]
                await run(app, image_id, args.servers, args.gets)
            asyncio.run(go())
        finally:
            node.stop(wait=1)


if __name__ == "__main__":
    main()
