"""Issue 14: every task ends, once. Findings 3 (one task per intent) and the
ones that need a whole cloud in this process."""
from __future__ import annotations

import threading

import pytest

from tests.dbs import create_postgres_database, drop_postgres_database


@pytest.fixture(params=["sqlite", "postgres"])
def any_db_cloud(request, cloud_factory):
    if request.param == "sqlite":
        yield cloud_factory()
        return
    url = create_postgres_database()
    try:
        yield cloud_factory(database__connection=url)
    finally:
        drop_postgres_database(url)


def _together(n: int, fn) -> list:
    """Run fn(i) in n threads released at the same moment."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i):
        barrier.wait()
        results[i] = fn(i)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.parametrize("how", ["DELETE", "forceDelete"])
def test_twenty_concurrent_deletes_make_one_task(any_db_cloud, how):
    cloud = any_db_cloud
    server_id = cloud.boot()
    cloud.driver.inject("power_off", delay=0.5)  # keep the delete in flight while the others arrive

    def delete(_i):
        if how == "DELETE":
            return cloud.delete(f"/servers/{server_id}")
        return cloud.action(server_id, {"forceDelete": None})
    responses = _together(20, delete)
    assert {r.status_code for r in responses} == {204 if how == "DELETE" else 202}, [r.text for r in responses]
    urls = {r.headers["X-Taskvisor-Task"] for r in responses}
    assert len(urls) == 1, urls
    tasks = cloud.get(f"/servers/{server_id}/tasks").json()["tasks"]
    assert [t["action"] for t in tasks].count("delete") == 1, [(t["action"], t["status"]) for t in tasks]
    assert cloud.wait_task(urls.pop())["status"] == "succeeded"
