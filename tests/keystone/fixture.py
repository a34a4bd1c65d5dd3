"""A real Keystone for the identity tests: the `keystone` package from PyPI
in its own virtual environment (built once per machine by
scripts/keystone-venv), SQLite, fernet tokens, served by uwsgi on 127.0.0.1.

Facts from /work/shared/reference/keystone-and-tempest-notes.md: Keystone 30
has no keystone-wsgi-public script (serve keystone/wsgi/api.py); one uwsgi
process and thread (SQLite locks otherwise); "Connection: close" (uwsgi's
http-socket drops kept-alive connections); memory cache and 4 hash rounds
(test only) make each call ~20-40 ms instead of 1-3 s here.
"""
from __future__ import annotations

import glob
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.procs import free_port, wait_for
from tests.services import unavailable

REPO = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "admin-secret"
SERVICE_PASSWORD = "service-secret"
USER_PASSWORD = "user-secret"

CONF = """[DEFAULT]
log_file = {root}/keystone.log
[database]
connection = sqlite:///{root}/keystone.db
[token]
provider = fernet
expiration = {expiration}
[fernet_tokens]
key_repository = {root}/fernet-keys
[fernet_receipts]
key_repository = {root}/fernet-keys
[credential]
key_repository = {root}/credential-keys
[cache]
enabled = true
backend = dogpile.cache.memory
[identity]
password_hash_rounds = 4
"""


def keystone_venv() -> Path:
    """The cached venv (built now if missing: a few minutes, once per machine)."""
    try:
        out = subprocess.run([str(REPO / "scripts" / "keystone-venv")], check=True, capture_output=True,
                             text=True, timeout=1500)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        unavailable(f"could not build Keystone's virtual environment: {exc}")
    return Path(out.stdout.strip().splitlines()[-1])


@dataclass
class Keystone:
    root: Path
    venv: Path
    port: int = field(default_factory=free_port)
    expiration: int = 3600
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v3"

    def _manage(self, *args: str) -> None:
        subprocess.run([str(self.venv / "bin" / "keystone-manage"), "--config-file",
                        str(self.root / "keystone.conf"), *args], check=True, capture_output=True, timeout=600)

    def start(self) -> "Keystone":
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "keystone.conf").write_text(CONF.format(root=self.root, expiration=self.expiration))
        user, group = os.getuid(), os.getgid()
        import grp
        import pwd
        owner = ["--keystone-user", pwd.getpwuid(user).pw_name, "--keystone-group", grp.getgrgid(group).gr_name]
        self._manage("db_sync")
        self._manage("fernet_setup", *owner)
        self._manage("credential_setup", *owner)
        self._manage("bootstrap", "--bootstrap-password", ADMIN_PASSWORD, "--bootstrap-region-id", "RegionOne",
                     "--bootstrap-admin-url", self.url, "--bootstrap-internal-url", self.url,
                     "--bootstrap-public-url", self.url)
        wsgi = glob.glob(str(self.venv / "lib" / "python3*" / "site-packages" / "keystone" / "wsgi" / "api.py"))[0]
        log = open(self.root / "uwsgi.log", "ab")
        self.proc = subprocess.Popen(
            [str(self.venv / "bin" / "uwsgi"), "--http-socket", f"127.0.0.1:{self.port}", "--wsgi-file", wsgi,
             "--master", "--processes", "1", "--threads", "1", "--die-on-term", "--add-header", "Connection: close",
             "--env", f"OS_KEYSTONE_CONFIG_FILES={self.root / 'keystone.conf'}", "--disable-logging"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()

        def up():
            if self.proc.poll() is not None:
                raise RuntimeError(f"uwsgi exited: {(self.root / 'uwsgi.log').read_text()[-3000:]}")
            try:
                return httpx.get(self.url, timeout=5).status_code == 200
            except httpx.HTTPError:
                return False
        wait_for(up, 120, "Keystone to serve", interval=0.3)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    # -- a tiny admin client (REST, as the openstack CLI would do it) -------------
    def token(self, user: str, password: str, project: str | None = None, system: bool = False) -> str:
        scope = {"system": {"all": True}} if system else {
            "project": {"name": project, "domain": {"id": "default"}}}
        body = {"auth": {"identity": {"methods": ["password"], "password": {
            "user": {"name": user, "domain": {"id": "default"}, "password": password}}}, "scope": scope}}
        resp = httpx.post(f"{self.url}/auth/tokens", json=body, timeout=30)
        assert resp.status_code == 201, resp.text
        return resp.headers["X-Subject-Token"]

    def admin(self) -> httpx.Client:
        token = self.token("admin", ADMIN_PASSWORD, "admin")
        return httpx.Client(base_url=self.url, headers={"X-Auth-Token": token}, timeout=30)

    def revoke(self, token: str) -> None:
        with self.admin() as api:
            resp = api.delete("/auth/tokens", headers={"X-Subject-Token": token})
            assert resp.status_code == 204, resp.text


def _id(resp, key: str) -> str:
    assert resp.status_code in (200, 201), resp.text
    return resp.json()[key]["id"]


def populate(keystone: Keystone, api_port: int) -> dict:
    """Projects A and B, their users, the taskvisor service user, and the
    catalog (compute, image, baremetal) pointing at ``api_port``."""
    ids: dict = {}
    with keystone.admin() as api:
        roles = {r["name"]: r["id"] for r in api.get("/roles").json()["roles"]}
        for name in ("service",):
            if name not in roles:
                roles[name] = _id(api.post("/roles", json={"role": {"name": name}}), "role")
        for project in ("service", "projA", "projB"):
            ids[project] = _id(api.post("/projects", json={"project": {"name": project, "domain_id": "default"}}),
                               "project")
        users = {"taskvisor": (SERVICE_PASSWORD, "service", ["service", "admin"]),
                 "alice": (USER_PASSWORD, "projA", ["member"]), "rita": (USER_PASSWORD, "projA", ["reader"]),
                 "bob": (USER_PASSWORD, "projB", ["member"])}
        for name, (password, project, granted) in users.items():
            uid = _id(api.post("/users", json={"user": {"name": name, "password": password,
                                                        "domain_id": "default"}}), "user")
            ids[name] = uid
            for role in granted:
                resp = api.put(f"/projects/{ids[project]}/users/{uid}/roles/{roles[role]}")
                assert resp.status_code == 204, resp.text
        base = f"http://127.0.0.1:{api_port}"
        for name, kind, path in (("nova", "compute", "/compute/v2.1"), ("glance", "image", "/image"),
                                 ("ironic", "baremetal", "/baremetal")):
            sid = _id(api.post("/services", json={"service": {"name": name, "type": kind}}), "service")
            for interface in ("public", "internal", "admin"):
                resp = api.post("/endpoints", json={"endpoint": {"service_id": sid, "interface": interface,
                                                                 "url": base + path, "region_id": "RegionOne"}})
                assert resp.status_code == 201, resp.text
    return ids


def taskvisor_config(path: Path, keystone: Keystone, token_cache_time: int = 300) -> Path:
    path.write_text(f"""[api]
auth_strategy = keystone

[keystone_authtoken]
www_authenticate_uri = {keystone.url.rsplit('/v3', 1)[0]}
auth_url = {keystone.url.rsplit('/v3', 1)[0]}
auth_type = password
username = taskvisor
password = {SERVICE_PASSWORD}
project_name = service
user_domain_name = Default
project_domain_name = Default
region_name = RegionOne
interface = public
token_cache_time = {token_cache_time}
""")
    return path


def wait_token_expired(keystone: Keystone, token: str, timeout: float = 120) -> None:
    """Wait until Keystone's own clock has passed the token's expires_at."""
    import datetime as dt
    with keystone.admin() as api:
        resp = api.get("/auth/tokens", headers={"X-Subject-Token": token})
        assert resp.status_code == 200, resp.text
        expires = dt.datetime.fromisoformat(resp.json()["token"]["expires_at"].replace("Z", "+00:00"))
    wait_for(lambda: dt.datetime.now(dt.UTC) > expires + dt.timedelta(seconds=1), timeout,
             "the token to expire", interval=0.5)
