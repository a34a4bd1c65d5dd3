"""One module per operation; importing this package registers them all."""
from taskvisor.flows import boot, delete  # noqa: F401
from taskvisor.flows import pause, power, reboot, rescue, resize, shelve, suspend  # noqa: F401  (server actions)
