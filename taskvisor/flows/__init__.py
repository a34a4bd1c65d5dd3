"""One module per operation; importing this package registers them all."""
from taskvisor.flows import boot, delete  # noqa: F401
