"""Digests of many list answers, to compare two trees byte for byte.

    PYTHONPATH=<tree> python benchmarks/list_answers.py DATA_DIR [--seed] > answers.txt

Answers (in process, ASGI called directly) a matrix of server and node
lists from a copy of ``DATA_DIR``'s database (as ``list_detail.py
--data-dir`` leaves it): Nova's microversions that change the detailed
view, paging, the name and status filters, ``all_tenants``; Ironic's
``/nodes/detail``, ``?detail=True`` and ``?fields=`` at several versions;
each as admin, a project member, a reader and another project. Each is
asked twice: the second comes from the fragment cache, and a line says
``WARM-DIFFERS`` if it is not the same bytes. Run it with two trees on the
same data directory and ``diff`` the outputs.

``--seed`` first varies the rows of ``DATA_DIR`` itself (once; a copy is
used otherwise), with direct SQL: tags, metadata, locks, task states, other
projects, servers in ERROR with a fault, node owners and lessees, secrets in
driver_info, traits, maintenance and reservations.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import os
import shutil
import sqlite3
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api_cpu  # noqa: E402
from taskvisor import logs  # noqa: E402
from taskvisor.allinone import AllInOne  # noqa: E402
from tests.conftest import make_conf  # noqa: E402

CALLERS = {"admin": [(b"x-project-id", b"admin"), (b"x-user-id", b"admin"), (b"x-roles", b"admin")],
           "member": [(b"x-project-id", b"admin"), (b"x-user-id", b"u2"), (b"x-roles", b"member")],
           "reader": [(b"x-project-id", b"other"), (b"x-user-id", b"u3"), (b"x-roles", b"reader")],
           "other": [(b"x-project-id", b"p1"), (b"x-user-id", b"u4"), (b"x-roles", b"member")]}
NOVA_VERSIONS = (None, "2.3", "2.9", "2.19", "2.26", "2.47", "2.63", "2.73", "2.96", "2.100")
IRONIC_VERSIONS = ("1.1", "1.8", "1.37", "1.43", "1.52", "1.65", "1.86", "1.115")


def seed(path: str) -> None:
    db = sqlite3.connect(path)
    ids = [r[0] for r in db.execute("SELECT id FROM servers ORDER BY created_at, id")]
    for i, server_id in enumerate(ids):
        if i % 7 == 0:
            db.executemany("INSERT OR IGNORE INTO server_tags (server_id, tag) VALUES (?, ?)",
                           [(server_id, "blue"), (server_id, f"t{i % 3}")])
        if i % 11 == 0:
            db.execute("UPDATE servers SET metadata = ? WHERE id = ?", ('{"role": "bench", "n": "%d"}' % i, server_id))
        if i % 13 == 0:
            db.execute("UPDATE servers SET locked_by = 'admin', locked_reason = 'seeded' WHERE id = ?", (server_id,))
        if i % 17 == 0:
            db.execute("UPDATE servers SET task_state = 'rebooting' WHERE id = ?", (server_id,))
        if i % 5 == 0:
            db.execute("UPDATE servers SET project_id = 'other', user_id = 'u3' WHERE id = ?", (server_id,))
        if i % 97 == 0:
            db.execute("UPDATE servers SET vm_state = 'error', task_state = NULL WHERE id = ?", (server_id,))
            db.execute("UPDATE tasks SET status = 'failed', error = ?, error_traceback = 'Traceback: seeded' "
                       "WHERE resource_id = ?", ('{"code": %d, "message": "seeded failure"}' % (500 if i % 2 else 409),
                                                 server_id))
    nodes = [r[0] for r in db.execute("SELECT id FROM nodes ORDER BY created_at, id")]
    for i, node_id in enumerate(nodes):
        if i % 3 == 0:
            db.execute("UPDATE nodes SET owner = 'admin' WHERE id = ?", (node_id,))
        if i % 4 == 0:
            db.execute("UPDATE nodes SET lessee = 'other' WHERE id = ?", (node_id,))
        if i % 5 == 0:
            db.execute("UPDATE nodes SET driver_info = ? WHERE id = ?",
                       ('{"ipmi_address": "10.0.0.%d", "ipmi_password": "s3cret", "deploy": {"token": "t"}}'
                        % (i % 250), node_id))
        if i % 6 == 0:
            db.executemany("INSERT OR IGNORE INTO node_traits (node_id, trait) VALUES (?, ?)",
                           [(node_id, "CUSTOM_A"), (node_id, f"CUSTOM_{i % 4}")])
        if i % 9 == 0:
            db.execute("UPDATE nodes SET maintenance = 1, maintenance_reason = 'seeded' WHERE id = ?", (node_id,))
        if i % 10 == 0:
            db.execute("UPDATE nodes SET reservation = 'conductor-x', last_error = 'seeded error' WHERE id = ?",
                       (node_id,))
    db.commit()
    db.close()


def requests(server_ids: list[str], node_ids: list[str]) -> list[tuple[str, str, list]]:
    out = []
    for caller, headers in CALLERS.items():
        for version in NOVA_VERSIONS:
            hdr = headers + ([(b"openstack-api-version", f"compute {version}".encode())] if version else [])
            for query in ("", "?all_tenants=1", "?limit=7", f"?limit=7&marker={server_ids[20]}",
                          "?status=ERROR", "?name=list-1", "?status=ACTIVE&limit=5"):
                out.append((caller, f"/compute/v2.1/servers/detail{query}", hdr))
        out.append((caller, "/compute/v2.1/servers", headers))
        for version in IRONIC_VERSIONS:
            hdr = headers + [(b"x-openstack-ironic-api-version", version.encode())]
            minor = int(version.split(".")[1])
            out.append((caller, "/baremetal/v1/nodes/detail", hdr))
            out.append((caller, f"/baremetal/v1/nodes/detail?limit=9&marker={node_ids[30]}", hdr))
            if minor >= 43:
                out.append((caller, "/baremetal/v1/nodes?detail=True&limit=50", hdr))
            if minor >= 8:
                fields = "uuid,driver_info,last_error,reservation,driver_internal_info"
                if minor >= 49:
                    fields += ",conductor,boot_interface,owner"
                if minor >= 52:
                    fields += ",traits,allocation_uuid"
                if minor >= 65:
                    fields += ",lessee"
                out.append((caller, f"/baremetal/v1/nodes?fields={fields}", hdr))
            out.append((caller, "/baremetal/v1/nodes?maintenance=true", hdr))
            if minor >= 49:  # the computed conductor, as a filter too
                out.append((caller, "/baremetal/v1/nodes/detail?conductor=localhost&limit=20", hdr))
                out.append((caller, "/baremetal/v1/nodes?fields=uuid,conductor&conductor=conductor-x", hdr))
    return out


async def ask(app, path: str, headers: list) -> tuple[int, bytes]:
    api_cpu.HEADERS = headers + [(b"host", b"answers")]
    status, _, body = await api_cpu.call(app, "GET", path)
    return status, body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir")
    parser.add_argument("--seed", action="store_true", help="vary DATA_DIR's rows first (once)")
    args = parser.parse_args()
    source = os.path.join(args.data_dir, "taskvisor.sqlite")
    if args.seed:
        seed(source)
    logs.setup(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="tv-list-answers-") as tmp:
        shutil.copy(source, tmp)
        db = sqlite3.connect(os.path.join(tmp, "taskvisor.sqlite"))
        server_ids = [r[0] for r in db.execute("SELECT id FROM servers ORDER BY created_at DESC, id")]
        node_ids = [r[0] for r in db.execute("SELECT id FROM nodes ORDER BY created_at, id")]
        db.close()
        node = AllInOne(make_conf(tmp))
        try:
            app = node.app()

            async def go():
                for caller, path, headers in requests(server_ids, node_ids):
                    status, cold = await ask(app, path, headers)
                    _, warm = await ask(app, path, headers)
                    flag = "" if warm == cold else "  WARM-DIFFERS"
                    given = dict(headers)
                    version = given.get(b"openstack-api-version", given.get(b"x-openstack-ironic-api-version", b""))
                    print(f"{caller:<7} {status} {len(cold):>8} {hashlib.sha256(cold).hexdigest()[:16]} "
                          f"{path} {version.decode()}{flag}", flush=True)
            asyncio.run(go())
        finally:
            node.stop(wait=1)


if __name__ == "__main__":
    main()
