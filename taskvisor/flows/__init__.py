"""One module per operation. ``FLOWS`` lists them all: the registry that
whoever starts a conductor or an API hands to it (the engine in
``taskvisor.tasks`` never imports this package)."""
from taskvisor.flows import bm_boot, bm_delete, bm_power  # servers on bare metal
from taskvisor.flows import boot, delete, pause, power, reboot, rescue, resize, shelve, suspend  # servers
from taskvisor.flows import node_abort, node_clean, node_deploy, node_maintenance, node_manage  # nodes
from taskvisor.flows import node_power, node_undeploy  # nodes
from taskvisor.flows import node_boot_device, node_inspect  # nodes (bm-conf)
from taskvisor.flows import node_boot_mode, node_console, node_indicator, node_vmedia  # nodes (bm-extras)
from taskvisor.flows import reap  # reconciler
from taskvisor.flows import bm_allocate  # allocations
from taskvisor.flows import admin_actions, migrate, rebuild, snapshot, soft_delete  # servers (nova-servers)
from taskvisor.tasks.flow import Flows

FLOWS = Flows(
    boot.flow, delete.flow,
    power.stop, power.start, reboot.soft, reboot.hard, rescue.rescue, rescue.unrescue,
    resize.resize, resize.confirm, resize.revert, shelve.shelve, shelve.shelve_offload, shelve.unshelve,
    pause.pause, pause.unpause, suspend.suspend, suspend.resume,
    bm_boot.flow, bm_delete.flow, bm_power.stop, bm_power.start, bm_power.soft, bm_power.hard,
    node_manage.flow, node_clean.flow, node_deploy.flow, node_undeploy.flow, node_abort.flow,
    node_power.flow, node_maintenance.flow, node_inspect.flow,
    node_boot_device.flow,
    node_console.flow, node_boot_mode.flow, node_vmedia.flow, node_indicator.flow,
    reap.flow,
    bm_allocate.flow,
    snapshot.snapshot, snapshot.backup, rebuild.flow, admin_actions.reset_state, admin_actions.inject_network_info,
    soft_delete.soft_delete, soft_delete.restore, migrate.flow,
    # A dead-lettered task whose on_failure handler raised still leaves its
    # resource in the machine's error state, and unlocked.
    error_states={"server": {"vm_state": "error", "task_state": None},
                  "node": {"reservation": None, "task_id": None},
                  "allocation": {"state": "error", "task_id": None}},
)
