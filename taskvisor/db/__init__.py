from taskvisor.db.session import Database, utcnow  # noqa: F401
