"""Hardware interfaces a bare-metal driver is made of (Ironic's split):
power, management, deploy, bios, raid, vendor. A driver (hardware type)
names one implementation of each; clean steps live on them.

Interface methods receive a ``HardwareTask``: the node as the conductor
sees it, the config, and a way to wait that notices an abort request.
"""
from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any


# driver_internal_info's keys of a running clean (baremetal.steps.CLEANING_KEYS) and its kind
_PLAN_KEYS = frozenset(("clean_steps", "clean_step_index", "manual_cleaning"))

POWER_ON, POWER_OFF, REBOOT = "power on", "power off", "rebooting"
SOFT_POWER_OFF, SOFT_REBOOT = "soft power off", "soft rebooting"
POWER_TARGETS = (POWER_ON, POWER_OFF, REBOOT, SOFT_REBOOT, SOFT_POWER_OFF)
# The power state a node has once a power action has finished.
POWER_RESULT = {POWER_ON: POWER_ON, POWER_OFF: POWER_OFF, REBOOT: POWER_ON, SOFT_REBOOT: POWER_ON,
                SOFT_POWER_OFF: POWER_OFF}


class Aborted(Exception):
    """The user aborted cleaning while an abortable step ran."""


class HardwareError(Exception):
    """A driver call failed; the message says what the hardware answered."""


class HardwareTask:
    def __init__(self, node: dict, conf: Any, should_abort: Callable[[], bool] = lambda: False,
                 abortable: bool = True):
        self.node = node
        self.conf = conf
        self.should_abort = should_abort
        # What the running step declared: a driver's wait cannot abort a step
        # that is not abortable, whatever it passes.
        self.abortable = abortable
        # a private copy: the flow saves it only if the driver changed it. The
        # plan of the clean that runs (most of the document) is shared, not
        # copied: drivers read it and never change it
        self.internal: dict = {k: v if k in _PLAN_KEYS else copy.deepcopy(v)
                               for k, v in (node.get("driver_internal_info") or {}).items()}

    @property
    def driver_info(self) -> dict:
        return self.node.get("driver_info") or {}

    def wait(self, seconds: float, abortable: bool = True, interval: float = 0.05) -> None:
        """Sleep, waking early (``Aborted``) when an abort is requested."""
        deadline = time.monotonic() + max(0.0, seconds)
        while True:
            if abortable and self.abortable and self.should_abort():
                raise Aborted()
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(interval, left))


class Interface:
    name = "none"            # the interface implementation's name (node.<type>_interface)
    interface_type = ""
    # driver_info keys this implementation reads: {key: description} (GET /v1/drivers/{name}/properties)
    properties: dict[str, str] = {}

    def validate(self, task: HardwareTask) -> None:
        """Raise ``HardwareError`` when driver_info cannot work."""

    def execute_clean_step(self, task: HardwareTask, step: dict) -> None:
        getattr(self, step["step"])(task, **(step.get("args") or {}))


class PowerInterface(Interface):
    interface_type = "power"

    def get_power_state(self, task: HardwareTask) -> str:
        raise NotImplementedError

    def set_power_state(self, task: HardwareTask, target: str, timeout: float | None = None) -> str:
        """Perform a power action and return once the node is in its
        resulting state (``POWER_RESULT[target]``)."""
        raise NotImplementedError


class ManagementInterface(Interface):
    interface_type = "management"

    def get_boot_device(self, task: HardwareTask) -> dict:
        raise NotImplementedError

    def set_boot_device(self, task: HardwareTask, device: str, persistent: bool = False) -> None:
        raise NotImplementedError

    def supported_boot_devices(self, task: HardwareTask) -> list[str]:
        """The devices set_boot_device accepts for this node."""
        raise NotImplementedError

    # Optional abilities (Ironic's UnsupportedDriverExtension when a driver lacks one)
    def set_boot_mode(self, task: HardwareTask, mode: str) -> None:
        raise HardwareError(f"The {self.name} management interface cannot set the boot mode")

    def set_secure_boot(self, task: HardwareTask, enabled: bool) -> None:
        raise HardwareError(f"The {self.name} management interface cannot change secure boot")

    def supported_indicators(self, task: HardwareTask) -> dict:
        """{component: {indicator: {"readonly": bool, "states": [...]}}}"""
        raise HardwareError(f"The {self.name} management interface has no indicators")

    def get_indicator_state(self, task: HardwareTask, component: str, indicator: str) -> str:
        raise HardwareError(f"The {self.name} management interface has no indicators")

    def set_indicator_state(self, task: HardwareTask, component: str, indicator: str, state: str) -> None:
        raise HardwareError(f"The {self.name} management interface cannot set indicators")

    def attach_virtual_media(self, task: HardwareTask, device_type: str, image_url: str) -> None:
        raise HardwareError(f"The {self.name} management interface has no virtual media")

    def detach_virtual_media(self, task: HardwareTask, device_types: list[str]) -> None:
        raise HardwareError(f"The {self.name} management interface has no virtual media")


class ConsoleInterface(Interface):
    interface_type = "console"

    def start_console(self, task: HardwareTask) -> dict:
        """Start the console; return how to reach it (console_info)."""
        raise NotImplementedError

    def stop_console(self, task: HardwareTask) -> None:
        raise NotImplementedError


class DeployInterface(Interface):
    interface_type = "deploy"

    def deploy(self, task: HardwareTask) -> None:
        """Write the instance image (instance_info) to the node."""

    def tear_down(self, task: HardwareTask) -> None:
        """Undo deploy (the node is powered off by the conductor)."""


class BiosInterface(Interface):
    interface_type = "bios"

    def get_settings(self, task: HardwareTask) -> list[dict]:
        """The node's BIOS settings as the hardware reports them: [{name, value, ...}]
        (cached in bios_settings after every BIOS step, as Ironic does)."""
        return []


class RaidInterface(Interface):
    interface_type = "raid"
    # What a logical disk of target_raid_config may say (GET /v1/drivers/{name}/raid/logical_disk_properties)
    logical_disk_properties = {
        "raid_level": "RAID level of the logical disk: JBOD, 0, 1, 2, 5, 6, 1+0, 5+0 or 6+0. Required.",
        "size_gb": "Size of the logical disk in GiB, or MAX for all the space left. Required.",
        "volume_name": "Name of the volume; generated when not given. Optional.",
        "is_root_volume": "Whether the node boots from this disk (default false). Optional.",
        "share_physical_disks": "Whether other logical disks may use the same physical disks (default false). "
                                "Optional.",
        "disk_type": "Preferred kind of physical disk: hdd or ssd. Optional.",
        "interface_type": "Preferred disk interface: sata, scsi or sas. Optional.",
        "number_of_physical_disks": "How many physical disks back this logical disk (default: the least the RAID "
                                    "level needs). Optional.",
        "controller": "RAID controller to use; the driver picks one when not given. Optional.",
        "physical_disks": "Physical disks to use; the driver picks them when not given. Optional.",
    }


class VendorInterface(Interface):
    interface_type = "vendor"


class FirmwareInterface(Interface):
    interface_type = "firmware"
