"""The web console in chromium: a server's timeline fills in live as its
tasks run, a failed step shows its error, another project sees nothing."""
from __future__ import annotations

import httpx
import pytest

from tests.procs import wait_for

pytestmark = pytest.mark.slow
B = "/compute/v2.1"
MEMBER = {"X-Project-Id": "other", "X-User-Id": "bob", "X-Roles": "member"}


def image(base: str) -> str:
    return httpx.get(f"{base}/image/v2/images?name=cirros").json()["images"][0]["id"]


def create(base: str, name: str, headers: dict | None = None) -> str:
    resp = httpx.post(f"{base}{B}/servers", headers=headers or {},
                      json={"server": {"name": name, "flavorRef": "1", "imageRef": image(base)}})
    assert resp.status_code == 202, resp.text
    return resp.json()["server"]["id"]


def task_status(base: str, server_id: str, action: str) -> str | None:
    for task in httpx.get(f"{base}{B}/servers/{server_id}/tasks").json()["tasks"]:
        if task["action"] == action:
            return task["status"]
    return None


def test_timeline_updates_live_and_shows_errors(browser, served, shot):
    base = served.url
    server_id = create(base, "web")
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    page.goto(f"{base}/console/servers/{server_id}")
    page.wait_for_selector("#live:not([hidden])")   # the event stream is open
    page.evaluate("() => { window.__marker = 1; }")  # survives only while the page is not reloaded
    create_task = page.locator(".task").first
    # the boot is still spawning (4 s fake spawn): the spawn bar runs, then succeeds, without a reload
    page.wait_for_selector('.step[data-step="spawn"][data-status="running"]', timeout=60_000)
    page.wait_for_selector('.task[data-status="succeeded"] .step[data-step="spawn"][data-status="succeeded"]',
                           timeout=60_000)
    assert create_task.locator(".step").all_inner_texts()[0].startswith("1. schedule")
    assert page.locator(".step").count() == 3
    assert "on localhost" in page.locator('.step[data-step="spawn"] .step-label').inner_text()
    page.wait_for_function("document.querySelector('#resource-state').innerText.includes('ACTIVE')")

    # a stop, started elsewhere, appears on the open page with its shutdown path
    resp = httpx.post(f"{base}{B}/servers/{server_id}/action", json={"os-stop": None})
    assert resp.status_code == 202
    page.wait_for_selector('.step[data-step="power_off"][data-status="succeeded"]', timeout=60_000)
    assert page.evaluate("window.__marker") == 1  # updated in place, never reloaded
    label = page.locator('.step[data-step="power_off"] .step-label').inner_text()
    assert "clean shutdown in" in label
    page.wait_for_function("document.querySelector('#resource-state').innerText.includes('SHUTOFF')")
    shot(page, "server-timeline")

    # a start whose power_on fails on the hypervisor: the failed step shows the error, live
    served.node.driver.inject("power_on", fail="the hypervisor refused: disk missing")
    httpx.post(f"{base}{B}/servers/{server_id}/action", json={"os-start": None})
    wait_for(lambda: task_status(base, server_id, "start") in ("failed", "reverted"), 60, "start to fail")
    page.wait_for_selector('.step[data-step="power_on"][data-status="failed"]', timeout=60_000)
    error = page.locator('.step[data-step="power_on"] .step-error').inner_text()
    assert "disk missing" in error
    assert "disk missing" in page.locator(".task").first.locator(".task-error").inner_text()
    shot(page, "server-failed-step")

    # "running now" and the failed list, one click away
    page.goto(f"{base}/")
    page.click("text=Failed tasks")
    page.wait_for_selector("table")
    assert "start" in page.locator("tbody").inner_text() and server_id in page.locator("tbody").inner_text()
    page.goto(f"{base}/")
    shot(page, "running-now")
    page.close()


def test_running_now_counts_live(browser, served):
    base = served.url
    page = browser.new_page()
    page.goto(f"{base}/")
    page.wait_for_selector("#live:not([hidden])")
    assert "Nothing queued or running." in page.inner_text("#running")
    server_id = create(base, "slow")
    # while it spawns, the page lists it under active tasks and counts it for its conductor
    page.wait_for_function("document.querySelector('#running').innerText.includes('create')", timeout=60_000)
    assert "localhost" in page.inner_text("#running")
    wait_for(lambda: task_status(base, server_id, "create") == "succeeded", 60, "the boot")
    page.wait_for_function("document.querySelector('#running').innerText.includes('Nothing queued or running.')",
                           timeout=60_000)
    page.close()


def test_another_project_sees_nothing(browser, served):
    base = served.url
    server_id = create(base, "private")
    wait_for(lambda: task_status(base, server_id, "create") == "succeeded", 60, "the boot")
    context = browser.new_context(extra_http_headers=MEMBER)
    page = context.new_page()
    resp = page.goto(f"{base}/console/servers/{server_id}")
    assert resp.status == 404 and "could not be found" in page.inner_text("main")
    page.goto(f"{base}/console/servers")
    assert "private" not in page.inner_text("main") and "No servers." in page.inner_text("main")
    page.goto(f"{base}/console/tasks")
    assert server_id not in page.inner_text("main")
    page.goto(f"{base}/console/nodes")
    assert "No nodes you may see." in page.inner_text("main")
    context.close()
