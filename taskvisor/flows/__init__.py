"""One module per operation; importing this package registers them all."""
from taskvisor.flows import boot, delete  # noqa: F401
from taskvisor.flows import node_abort, node_clean, node_deploy, node_maintenance, node_manage, node_power, node_undeploy  # noqa: F401,E501  (bare-metal nodes)
from taskvisor.flows import bm_boot, bm_delete, bm_power  # noqa: F401  (servers on bare metal)
from taskvisor.flows import pause, power, reboot, rescue, resize, shelve, suspend  # noqa: F401  (server actions)

from taskvisor.tasks.flow import register_error_state  # noqa: E402

# A dead-lettered task whose on_failure handler raised still leaves its
# resource in the machine's error state, and unlocked.
register_error_state("server", {"vm_state": "error", "task_state": None})
register_error_state("node", {"reservation": None, "task_id": None})
