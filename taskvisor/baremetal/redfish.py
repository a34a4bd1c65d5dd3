"""The ``redfish`` driver: power and management through a Redfish BMC
(``sushy``), as Ironic's redfish hardware type does.

driver_info (Ironic's names): redfish_address (http[s]://host:port),
redfish_system_id (e.g. /redfish/v1/Systems/<id>), redfish_username,
redfish_password, redfish_verify_ca (default true). The password is
never logged and the API shows it as ``******``.

BMCs apply power changes late (the sushy-tools emulator after 1–11 s), so a
power action returns only once a poll sees the wanted state, or fails
after ``[conductor] power_state_change_timeout`` with a clear error.
"""
from __future__ import annotations

import functools
import logging
import time

from taskvisor.baremetal import interfaces as base
from taskvisor.baremetal.fake import FakeBios, FakeDeploy, FakeRaid, FakeVendor
from taskvisor.baremetal.interfaces import HardwareError, HardwareTask
from taskvisor.baremetal.steps import clean_step

LOG = logging.getLogger(__name__)
REQUIRED = ("redfish_address", "redfish_system_id")
BOOT_DEVICES = ("pxe", "disk", "cdrom", "bios", "usb")


@functools.cache
def _sushy():
    """sushy (with requests, dateutil, stevedore: ~80 modules, a few MB) is
    imported when a redfish node is first driven, not when a conductor
    describes its drivers at start-up."""
    import sushy
    return sushy


@functools.cache
def _tables() -> tuple[dict, dict, dict]:
    """sushy's values for our power targets, our names of its power states, its boot sources."""
    sushy = _sushy()
    reset = {base.POWER_ON: sushy.ResetType.ON, base.POWER_OFF: sushy.ResetType.FORCE_OFF,
             base.REBOOT: sushy.ResetType.FORCE_RESTART, base.SOFT_REBOOT: sushy.ResetType.GRACEFUL_RESTART,
             base.SOFT_POWER_OFF: sushy.ResetType.GRACEFUL_SHUTDOWN}
    power = {sushy.PowerState.ON: base.POWER_ON, sushy.PowerState.OFF: base.POWER_OFF,
             sushy.PowerState.POWERING_ON: base.POWER_OFF, sushy.PowerState.POWERING_OFF: base.POWER_ON}
    boot = {"pxe": sushy.BootSource.PXE, "disk": sushy.BootSource.HDD, "cdrom": sushy.BootSource.CD,
            "bios": sushy.BootSource.BIOS_SETUP, "usb": sushy.BootSource.USB}
    return reset, power, boot


def _system(task: HardwareTask):
    info = task.driver_info
    missing = [key for key in REQUIRED if not info.get(key)]
    if missing:
        raise HardwareError(f"driver_info is missing {', '.join(missing)} for the redfish driver")
    verify = info.get("redfish_verify_ca", True)
    if isinstance(verify, str):
        verify = verify.lower() not in ("false", "0", "no", "off")
    address = info["redfish_address"].rstrip("/")
    sushy = _sushy()
    try:
        conn = sushy.Sushy(f"{address}/redfish/v1", username=info.get("redfish_username"),
                           password=info.get("redfish_password"), verify=verify)
        return conn.get_system(info["redfish_system_id"])
    except sushy.exceptions.SushyError as exc:
        # sushy's messages name the URL and status, never the credentials
        raise HardwareError(f"Redfish BMC at {address} refused system {info['redfish_system_id']}: {exc}") from None


def _power_state(system) -> str:
    system.refresh()
    return _tables()[1].get(system.power_state, str(system.power_state))


class RedfishPower(base.PowerInterface):
    name = "redfish"
    properties = {"redfish_address": "The BMC's Redfish endpoint, http[s]://host[:port]. Required.",
                  "redfish_system_id": "The system's Redfish path, e.g. /redfish/v1/Systems/1. Required.",
                  "redfish_username": "User name on the BMC. Optional.",
                  "redfish_password": "Password on the BMC. Optional.",
                  "redfish_verify_ca": "true, false or a CA bundle path to check the BMC's TLS certificate "
                                       "(default true). Optional."}

    def validate(self, task: HardwareTask) -> None:
        _system(task)

    def get_power_state(self, task: HardwareTask) -> str:
        try:
            return _power_state(_system(task))
        except _sushy().exceptions.SushyError as exc:
            raise HardwareError(f"Redfish get power state failed: {exc}") from None

    def set_power_state(self, task: HardwareTask, target: str, timeout: float | None = None) -> str:
        wanted = base.POWER_RESULT[target]
        timeout = timeout or float(task.conf.conductor.power_state_change_timeout)
        system = _system(task)
        try:
            if target in (base.POWER_ON, base.POWER_OFF, base.SOFT_POWER_OFF) and _power_state(system) == wanted:
                return wanted  # already there: acting again could reset it (idempotent step)
            system.reset_system(_tables()[0][target])
            if target in (base.REBOOT, base.SOFT_REBOOT):
                # a restart is only visible as "on" again; give the BMC a moment to leave "on"
                time.sleep(0.5)
            deadline = time.monotonic() + timeout
            while True:
                state = _power_state(system)
                if state == wanted:
                    return wanted
                if time.monotonic() >= deadline:
                    raise HardwareError(f"Timed out after {timeout:.0f}s waiting for the Redfish BMC to reach "
                                        f"'{wanted}' after '{target}'; it still reports '{state}'")
                time.sleep(float(task.conf.conductor.power_state_poll_interval))
        except _sushy().exceptions.SushyError as exc:
            raise HardwareError(f"Redfish power action '{target}' failed: {exc}") from None


class RedfishManagement(base.ManagementInterface):
    name = "redfish"

    def supported_boot_devices(self, task: HardwareTask) -> list[str]:
        return list(BOOT_DEVICES)

    def validate(self, task: HardwareTask) -> None:
        _system(task)

    def get_boot_device(self, task: HardwareTask) -> dict:
        system = _system(task)
        system.refresh()
        target = system.boot.target
        names = {v: k for k, v in _tables()[2].items()}
        return {"boot_device": names.get(target, str(target)),
                "persistent": system.boot.enabled == _sushy().BootSourceOverrideEnabled.CONTINUOUS}

    @clean_step(priority=0, requires_ramdisk=False, argsinfo={
        "device": {"description": f"Boot device: {', '.join(BOOT_DEVICES)}", "required": True, "type": "string"},
        "persistent": {"description": "Keep it for every boot", "required": False, "type": "boolean"}})
    def set_boot_device(self, task: HardwareTask, device: str, persistent: bool = False) -> None:
        if device not in BOOT_DEVICES:
            raise HardwareError(f"unknown boot device {device!r}; use one of {', '.join(BOOT_DEVICES)}")
        sushy = _sushy()
        enabled = sushy.BootSourceOverrideEnabled.CONTINUOUS if persistent else sushy.BootSourceOverrideEnabled.ONCE
        try:
            _system(task).set_system_boot_options(_tables()[2][device], enabled=enabled)
        except sushy.exceptions.SushyError as exc:
            raise HardwareError(f"Redfish set boot device {device} failed: {exc}") from None


class Redfish:
    name = "redfish"

    def __init__(self):
        self.power, self.management = RedfishPower(), RedfishManagement()
        # no in-band agent here: deploy, bios, raid and vendor are the fake ones
        self.deploy, self.bios, self.raid, self.vendor = FakeDeploy(), FakeBios(), FakeRaid(), FakeVendor()
