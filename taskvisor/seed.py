"""Defaults a new cloud starts with: a few flavors and one image."""
from __future__ import annotations

import uuid

from sqlalchemy import func, insert, select

from taskvisor.db.models import flavors, images
from taskvisor.db.session import Database, utcnow

FLAVORS = [("1", "m1.tiny", 1, 512, 1), ("2", "m1.small", 1, 2048, 20), ("3", "m1.medium", 2, 4096, 40),
           ("4", "m1.large", 4, 8192, 80)]
DEFAULT_IMAGE = "cirros"


def seed(db: Database) -> None:
    now = utcnow()
    with db.write() as conn:
        if conn.execute(select(func.count()).select_from(flavors)).scalar() == 0:
            conn.execute(insert(flavors), [
                {"id": fid, "name": name, "vcpus": vcpus, "ram": ram, "disk": disk, "ephemeral": 0, "swap": 0,
                 "rxtx_factor": 1.0, "is_public": True, "description": None, "extra_specs": {}, "created_at": now}
                for fid, name, vcpus, ram, disk in FLAVORS])
        if conn.execute(select(func.count()).select_from(images)).scalar() == 0:
            conn.execute(insert(images), {
                "id": str(uuid.uuid4()), "name": DEFAULT_IMAGE, "status": "active", "visibility": "public",
                "protected": False, "disk_format": "qcow2", "container_format": "bare", "size": 0,
                "checksum": None, "min_disk": 0, "min_ram": 0, "owner": "admin", "tags": [],
                "properties": {}, "created_at": now, "updated_at": now})
