"""Virt drivers, chosen by [compute] driver."""
from __future__ import annotations

import os

from taskvisor.config import Config
from taskvisor.rpc.base import Transport
from taskvisor.virt.driver import ComputeDriver


def load_driver(conf: Config, transport: Transport) -> ComputeDriver:
    """The driver a compute runs; ``transport`` reaches the conductor (the
    baremetal driver asks it about nodes)."""
    name = conf.compute.driver
    data_dir = os.path.abspath(conf.DEFAULT.data_dir)
    host = conf.DEFAULT.host
    if name == "fake":
        from taskvisor.virt.fake import FakeDriver
        os.makedirs(data_dir, exist_ok=True)
        return FakeDriver(state_path=os.path.join(data_dir, f"fake-guests-{host}.json") if conf.fake.persist else None,
                          spawn_seconds=conf.fake.spawn_seconds,
                          size={"vcpus": conf.fake.vcpus, "memory_mb": conf.fake.memory_mb,
                                "disk_gb": conf.fake.disk_gb},
                          inject_path=os.path.join(data_dir, "fake-inject.json"),
                          image_dir=os.path.join(data_dir, "images"))
    if name == "process":
        from taskvisor.virt.process import ProcessDriver
        return ProcessDriver(conf)
    if name == "libvirt":
        from taskvisor.virt.libvirt import LibvirtDriver
        return LibvirtDriver(conf)
    if name == "baremetal":
        from taskvisor.virt.baremetal import BaremetalDriver
        return BaremetalDriver(conf, transport)
    raise ValueError(f"unknown [compute] driver {name!r}: use fake, process, libvirt or baremetal")
