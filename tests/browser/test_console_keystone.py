"""The console under a real Keystone (tests/keystone/fixture.py), in chromium:
a browser without a token is sent to the login page; a password login (or a
pasted token) shows that project's servers only; a wrong password is refused;
logging out ends the session. The token travels as an HttpOnly cookie that
the API accepts for reads only."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import httpx
import pytest

from tests.keystone.fixture import USER_PASSWORD, Keystone, keystone_venv, populate, taskvisor_config
from tests.procs import all_in_one, free_port, wait_for

pytestmark = pytest.mark.slow
B = "/compute/v2.1"


@pytest.fixture(scope="module")
def keystone_cloud():
    root = Path(tempfile.mkdtemp(prefix="taskvisor-console-keystone-"))
    keystone = Keystone(root / "keystone", keystone_venv()).start()
    port = free_port()
    try:
        populate(keystone, port)
        conf = taskvisor_config(root / "taskvisor.conf", keystone, token_cache_time=-1)
        (root / "data").mkdir()
        proc = all_in_one(str(root / "data"), port=port, extra=["--config-file", str(conf)]).start(timeout=60)
        try:
            yield {"keystone": keystone, "base": proc.base_url}
        finally:
            proc.stop()
    finally:
        keystone.stop()
        shutil.rmtree(root, ignore_errors=True)


def boot(cloud, user: str, project: str, name: str) -> str:
    headers = {"X-Auth-Token": cloud["keystone"].token(user, USER_PASSWORD, project)}
    image = httpx.get(f"{cloud['base']}/image/v2/images?name=cirros", headers=headers).json()["images"][0]["id"]
    resp = httpx.post(f"{cloud['base']}{B}/servers", headers=headers,
                      json={"server": {"name": name, "flavorRef": "1", "imageRef": image}})
    assert resp.status_code == 202, resp.text
    server_id = resp.json()["server"]["id"]
    wait_for(lambda: httpx.get(f"{cloud['base']}{B}/servers/{server_id}", headers=headers)
             .json()["server"]["status"] == "ACTIVE", 60, f"{name} ACTIVE", interval=0.2)
    return server_id


def log_in(page, base: str, **fields) -> None:
    page.goto(f"{base}/console/servers")
    assert "/console/login?next=" in page.url  # no token yet: sent to log in, and back after
    for name, value in fields.items():
        page.fill(f"input[name={name}]", value)
    page.click("button[type=submit]")


def test_login_shows_the_projects_own_servers_and_logout_ends_it(browser, keystone_cloud, shot):
    base = keystone_cloud["base"]
    mine = boot(keystone_cloud, "alice", "projA", "alices-vm")
    theirs = boot(keystone_cloud, "bob", "projB", "bobs-vm")
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    page = context.new_page()
    page.goto(f"{base}/")
    assert page.url.startswith(f"{base}/console/login")
    shot(page, "keystone-login")

    log_in(page, base, username="alice", password="wrong-password", project="projA")
    assert "Keystone refused these credentials" in page.inner_text("p.error")
    assert not context.cookies()

    log_in(page, base, username="alice", password=USER_PASSWORD, project="projA")
    page.wait_for_url(f"{base}/console/servers")
    assert "alices-vm" in page.inner_text("main") and "bobs-vm" not in page.inner_text("main")
    cookie = next(c for c in context.cookies() if c["name"] == "taskvisor_token")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    page.goto(f"{base}/console/servers/{mine}")
    page.wait_for_selector("#live:not([hidden])")  # the event stream authenticated with the cookie too
    assert "create" in page.inner_text(".task")
    shot(page, "keystone-server")
    assert page.goto(f"{base}/console/servers/{theirs}").status == 404

    # the cookie is a read credential only: a change still needs the token header
    token = cookie["value"]
    denied = httpx.post(f"{base}{B}/servers/{mine}/action", json={"os-stop": None},
                        headers={"Cookie": f"taskvisor_token={token}"})
    assert denied.status_code == 401

    page.click("a.logout")
    page.wait_for_url(f"{base}/console/login")
    assert not [c for c in context.cookies() if c["name"] == "taskvisor_token"]
    page.goto(f"{base}/console/servers")
    assert "/console/login?next=" in page.url
    context.close()


def test_a_pasted_token_logs_in_and_a_bad_one_is_sent_back(browser, keystone_cloud):
    base = keystone_cloud["base"]
    boot(keystone_cloud, "bob", "projB", "bobs-other-vm")
    context = browser.new_context()
    page = context.new_page()
    log_in(page, base, token="not-a-token")
    page.wait_for_url(f"{base}/console/login?next=*")  # validated on use: refused, back to the login
    log_in(page, base, token=keystone_cloud["keystone"].token("bob", USER_PASSWORD, "projB"))
    page.wait_for_url(f"{base}/console/servers")
    assert "bobs-other-vm" in page.inner_text("main") and "alices-vm" not in page.inner_text("main")
    context.close()
