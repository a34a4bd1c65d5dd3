"""A real browser on the console: Debian's chromium driven by Playwright,
against an in-process cloud served by uvicorn on a free port (in-process, so
a test can make a fake guest fail on purpose). Playwright never downloads a
browser: it launches /usr/bin/chromium. Screenshots go to
``test-artifacts/console/`` (CI keeps them); the README's PNGs in
docs/images/ are copies of them."""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from taskvisor.allinone import AllInOne
from tests.conftest import make_conf
from tests.procs import free_port, wait_for
from tests.services import unavailable

CHROMIUM = os.environ.get("TASKVISOR_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"


@pytest.fixture(scope="session")
def browser():
    os.environ["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install -e '.[test]')")
    if not shutil.which(CHROMIUM):
        unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


class Served:
    def __init__(self, node: AllInOne, port: int):
        self.node, self.port = node, port
        self.url = f"http://127.0.0.1:{port}"


@pytest.fixture
def served(tmp_path):
    import httpx
    import uvicorn
    node = AllInOne(make_conf(tmp_path, fake__spawn_seconds=4.0, api__watch_poll_interval=0.2)).start()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(node.app(), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()

    def up():
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthcheck", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, 30, "the console to serve")
    yield Served(node, port)
    server.should_exit = True
    thread.join(10)
    node.stop(wait=1)


@pytest.fixture
def shot():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path
    return take
