"""Services wired together in one process: what `taskvisor all-in-one`
runs, and what functional tests start (with the same code)."""
from __future__ import annotations

import logging

from taskvisor.compute.service import ComputeService
from taskvisor.conductor.service import Conductor
from taskvisor.config import Config
from taskvisor.db import migrate
from taskvisor.db.session import Database, PoolOptions
from taskvisor.flows import FLOWS
from taskvisor.rpc.base import transport_from
from taskvisor.seed import seed
from taskvisor.virt import load_driver

LOG = logging.getLogger(__name__)


def open_database(conf: Config, upgrade: bool = True) -> Database:
    db = Database(conf.database_url, PoolOptions.from_conf(conf))
    if upgrade:
        LOG.info("database: bringing the schema to the newest revision")
        migrate.upgrade(db)
        seed(db)
        LOG.info("database: ready (default flavors and the cirros image are in place)")
    return db


class AllInOne:
    """API state + one conductor + one compute sharing a database and a bus."""

    def __init__(self, conf: Config, flows=None):
        self.conf = conf
        self.flows = flows or FLOWS  # tests hand extra flows
        self.db = open_database(conf)
        self.transport = transport_from(conf)
        self.conductor = Conductor(conf, self.db, self.transport, self.flows)
        self.driver = load_driver(conf, self.transport)
        self.compute = ComputeService(conf, self.transport, self.driver)

    def app(self):
        from taskvisor.api.app import create_app
        return create_app(self.conf, self.db, self.transport, self.flows)

    def start(self) -> "AllInOne":
        self.conductor.start()
        self.compute.start()
        return self

    def stop(self, wait: float = 5.0) -> None:
        self.conductor.stop(wait=wait)
        self.compute.stop()
        self.transport.close()
        self.db.dispose()
