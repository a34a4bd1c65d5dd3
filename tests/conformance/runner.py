"""Run OpenStack Tempest's compute API tests and the Bare Metal plugin's API
tests against a taskvisor all-in-one behind a real Keystone (issues 18, 19).

Started as `scripts/tempest`. Everything runs on free 127.0.0.1 ports in a
fresh work directory; everything started here is stopped on exit (normal end,
failure, Ctrl-C or SIGTERM). The taskvisor tree under test is ``--source``
(put first on the all-in-one's PYTHONPATH), so other trees can be measured
with this harness. Facts behind the configuration:
/work/shared/reference/keystone-and-tempest-notes.md and docs/conformance.md.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.conformance.causes import cause
from tests.keystone.fixture import ADMIN_PASSWORD, Keystone, populate, taskvisor_config
from tests.procs import all_in_one, free_port

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CI_SUBSET = HERE / "tempest-ci-subset.txt"
SUITES = {"compute": r"tempest\.api\.compute\.", "baremetal": r"ironic_tempest_plugin\.tests\.api\."}
COMPUTE, BAREMETAL = "/compute/v2.1", "/baremetal"


def log(message: str) -> None:
    print(f"tempest: {message}", file=sys.stderr, flush=True)


def build_venv(script: str) -> Path:
    """scripts/keystone-venv or scripts/tempest-venv: cached, built once per machine."""
    out = subprocess.run([str(REPO / "scripts" / script)], check=True, stdout=subprocess.PIPE, text=True)
    return Path(out.stdout.strip().splitlines()[-1])


def regex_for(suite: str) -> str:
    names = list(SUITES) if suite == "all" else [suite]
    return "^(" + "|".join(SUITES[name] for name in names) + ")"


def subset_lines(path: Path = CI_SUBSET) -> list[str]:
    """The subset file: one test id or regex per line; blank lines and # comments ignored."""
    lines = [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()]
    return [line for line in lines if line]


def line_regex(line: str) -> str:
    """A plain test id matches exactly that test (Tempest appends "[id-...]"); anything else is a regex."""
    if re.fullmatch(r"[\w.]+", line):
        return "^" + re.escape(line) + r"(\[.*\])?$"
    return line


class Stack:
    """Keystone + taskvisor all-in-one + Tempest workspace in ``root``."""

    def __init__(self, root: Path, source: Path):
        self.root, self.source = root, source
        self.keystone: Keystone | None = None
        self.taskvisor = None
        self.tempest_proc: subprocess.Popen | None = None

    # -- services ---------------------------------------------------------------------
    def start(self, keystone_venv: Path) -> None:
        log(f"starting Keystone and the all-in-one (work directory {self.root})")
        self.keystone = Keystone(self.root / "keystone", keystone_venv).start()
        port = free_port()
        populate(self.keystone, port)
        conf = taskvisor_config(self.root / "taskvisor.conf", self.keystone)
        data = self.root / "taskvisor"
        data.mkdir()
        path = os.pathsep.join(p for p in (str(self.source), os.environ.get("PYTHONPATH", "")) if p)
        self.taskvisor = all_in_one(str(data), port=port, extra=["--config-file", str(conf)],
                                    env={"PYTHONPATH": path}, cwd=str(self.source)).start(timeout=120)
        log(f"Keystone at {self.keystone.url}, taskvisor at {self.taskvisor.base_url}")

    def stop(self) -> None:
        if self.tempest_proc and self.tempest_proc.poll() is None:
            try:
                os.killpg(self.tempest_proc.pid, signal.SIGTERM)
                self.tempest_proc.wait(20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.tempest_proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self.taskvisor:
            self.taskvisor.stop()
        if self.keystone:
            self.keystone.stop()

    # -- what Tempest needs in the cloud ----------------------------------------------
    def admin(self) -> httpx.Client:
        token = self.keystone.token("admin", ADMIN_PASSWORD, "admin")
        return httpx.Client(base_url=self.taskvisor.base_url, headers={"X-Auth-Token": token}, timeout=60)

    def prepare_cloud(self) -> dict:
        with self.admin() as api:
            images = [i["id"] for i in api.get("/image/v2/images").json()["images"]]
            resp = api.post("/image/v2/images", json={"name": "cirros-alt", "disk_format": "qcow2",
                                                      "container_format": "bare", "visibility": "public"})
            resp.raise_for_status()
            alt = resp.json()["id"]
            api.put(f"/image/v2/images/{alt}/file", content=b"\0" * 1024,
                    headers={"Content-Type": "application/octet-stream"}).raise_for_status()
            flavors = []
            for name, ram, disk in (("tempest.tiny", 128, 1), ("tempest.small", 256, 2)):
                resp = api.post(f"{COMPUTE}/flavors", json={"flavor": {"name": name, "ram": ram, "vcpus": 1,
                                                                         "disk": disk}})
                resp.raise_for_status()
                flavors.append(resp.json()["flavor"]["id"])
            compute = api.get(f"{COMPUTE}/").json()["version"]
            baremetal = api.get(f"{BAREMETAL}/").json()["default_version"]
        return {"image_ref": images[0], "image_ref_alt": alt, "flavor_ref": flavors[0], "flavor_ref_alt": flavors[1],
                "compute_min": compute["min_version"], "compute_max": compute["version"],
                "baremetal_min": baremetal["min_version"], "baremetal_max": baremetal["version"]}

    # -- Tempest ----------------------------------------------------------------------
    @property
    def workspace(self) -> Path:
        return self.root / "tempest"

    def init_tempest(self, tempest_venv: Path, cloud: dict) -> None:
        subprocess.run([str(tempest_venv / "bin" / "tempest"), "init", "--workspace-path",
                        str(self.root / "workspace.yaml"), str(self.workspace)], check=True,
                       stdout=subprocess.DEVNULL)
        conf = tempest_conf(self.workspace, self.keystone.url, cloud)
        (self.workspace / "etc" / "tempest.conf").write_text(conf)

    def run_tempest(self, tempest_venv: Path, selection: list[str], concurrency: int) -> int:
        log(f"tempest run --concurrency {concurrency} {' '.join(selection)}")
        output = open(self.root / "tempest-run.log", "wb")
        self.tempest_proc = subprocess.Popen(
            [str(tempest_venv / "bin" / "tempest"), "run", "--concurrency", str(concurrency), *selection],
            cwd=self.workspace, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "PATH": f"{tempest_venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"})
        output.close()
        return self.tempest_proc.wait()

    def results(self, tempest_venv: Path) -> list[dict]:
        subunit = self.root / "results.subunit"
        with open(subunit, "wb") as out:
            subprocess.run([str(tempest_venv / "bin" / "stestr"), "last", "--subunit"], cwd=self.workspace,
                           stdout=out, check=False)
        with open(subunit, "rb") as stream:
            summary = subprocess.run([str(tempest_venv / "bin" / "python"), str(HERE / "subunit_summary.py")],
                                     stdin=stream, stdout=subprocess.PIPE, check=True)
        records = json.loads(summary.stdout)
        (self.root / "results.json").write_text(json.dumps(records, indent=1))
        return records


def tempest_conf(workspace: Path, keystone_url: str, cloud: dict) -> str:
    return f"""[DEFAULT]
log_dir = {workspace / 'logs'}
log_file = tempest.log

[auth]
use_dynamic_credentials = true
create_isolated_networks = false
admin_username = admin
admin_password = {ADMIN_PASSWORD}
admin_project_name = admin
admin_domain_name = Default

[identity]
uri_v3 = {keystone_url}
auth_version = v3
region = RegionOne
v3_endpoint_type = public

[identity-feature-enabled]
api_v2 = false

[service_available]
nova = true
glance = true
ironic = true
neutron = false
cinder = false
swift = false

[compute]
image_ref = {cloud['image_ref']}
image_ref_alt = {cloud['image_ref_alt']}
flavor_ref = {cloud['flavor_ref']}
flavor_ref_alt = {cloud['flavor_ref_alt']}
min_microversion = {cloud['compute_min']}
max_microversion = {cloud['compute_max']}
region = RegionOne
endpoint_type = publicURL
build_timeout = 120

[compute-feature-enabled]
# taskvisor resizes (Tempest's default is off)
resize = true
# out of scope for taskvisor (docs/conformance.md)
live_migration = false
vnc_console = false
spice_console = false
serial_console = false
interface_attach = false
config_drive = false
metadata_service = false
personality = false
attach_encrypted_volume = false

[validation]
run_validation = false

[baremetal]
driver = fake-hardware
# the hardware types taskvisor serves (Tempest's default names ipmi, which it does not)
enabled_hardware_types = fake-hardware,redfish
min_microversion = {cloud['baremetal_min']}
max_microversion = {cloud['baremetal_max']}
endpoint_type = public
"""


def classify(records: list[dict]) -> dict:
    """Counts per suite: a record belongs to the suite its id (or "setUpClass (id)") names."""
    counts: dict[str, dict[str, int]] = {}
    for record in records:
        suite = next((name for name, pattern in SUITES.items() if re.search(pattern, record["id"])), "other")
        bucket = counts.setdefault(suite, {"passed": 0, "failed": 0, "skipped": 0})
        status = record["status"]
        bucket["passed" if status in ("success", "xfail") else "skipped" if status == "skip" else "failed"] += 1
    return counts


def report(records: list[dict]) -> None:
    counts = classify(records)
    total = {k: sum(c[k] for c in counts.values()) for k in ("passed", "failed", "skipped")}
    skipped = sorted((r for r in records if r["status"] == "skip"), key=lambda r: r["id"])
    failed = sorted((r for r in records if r["status"] not in ("success", "xfail", "skip")), key=lambda r: r["id"])
    if skipped:
        print(f"\nSKIPPED ({len(skipped)}):")
        for r in skipped:
            print(f"  {r['id']}: {r.get('reason', '')}")
    if failed:
        print(f"\nFAILED ({len(failed)}):")
        for r in failed:
            print(f"  {r['id']}: {cause(r)}")
    print()
    for suite, c in sorted(counts.items()):
        print(f"{suite}: passed/failed/skipped = {c['passed']}/{c['failed']}/{c['skipped']}")
    print(f"total: passed/failed/skipped = {total['passed']}/{total['failed']}/{total['skipped']}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="scripts/tempest", description=__doc__.split("\n\n")[0])
    p.add_argument("--suite", choices=["compute", "baremetal", "all"], default="all")
    p.add_argument("--regex", help="test selection regex (overrides --suite)")
    p.add_argument("--subset", choices=["ci"], help="run the fixed CI subset (tests/conformance/tempest-ci-subset.txt)")
    p.add_argument("--source", type=Path, default=REPO, help="taskvisor tree to run (default: this repository)")
    p.add_argument("--keep", type=Path, help="keep logs, tempest.conf and results (subunit, JSON) in this directory")
    p.add_argument("--concurrency", type=int, default=2)
    return p.parse_args(argv)


def _terminate(signum, frame):
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    source = args.source.resolve()
    if not (source / "taskvisor" / "__init__.py").is_file():
        log(f"--source {source} is not a taskvisor tree")
        return 2
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        if any(args.keep.iterdir()):
            log(f"--keep {args.keep} is not empty")
            return 2
        root = args.keep.resolve()
    else:
        root = Path(tempfile.mkdtemp(prefix="taskvisor-tempest-"))

    log("building (or reusing) the Keystone and Tempest virtual environments")
    keystone_venv, tempest_venv = build_venv("keystone-venv"), build_venv("tempest-venv")
    stack = Stack(root, source)
    started = time.monotonic()
    try:
        stack.start(keystone_venv)
        cloud = stack.prepare_cloud()
        stack.init_tempest(tempest_venv, cloud)
        if args.regex:
            selection = ["--regex", args.regex]
        elif args.subset:
            include = root / "include-list.txt"
            include.write_text("".join(line_regex(line) + "\n" for line in subset_lines()))
            selection = ["--include-list", str(include)]
        else:
            selection = ["--regex", regex_for(args.suite)]
        stack.run_tempest(tempest_venv, selection, args.concurrency)
        records = stack.results(tempest_venv)
    finally:
        stack.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    report(records)
    log(f"done in {time.monotonic() - started:.0f}s" + (f"; logs and results in {root}" if args.keep else ""))
    failed = sum(c["failed"] for c in classify(records).values())
    return 1 if failed or not records else 0


if __name__ == "__main__":
    sys.exit(main())
