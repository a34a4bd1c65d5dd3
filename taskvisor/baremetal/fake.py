"""The ``fake-hardware`` driver: no hardware, real flow.

driver_info knobs (all optional):
  fake_clean_delay   seconds every clean step takes, or {"deploy.erase_devices": 2, ...}
  fake_fail_step     "interface.step" (or a list) that fails
  fake_power_delay   seconds a power action takes
  fake_power_fail    true: power actions fail
  fake_deploy_delay  seconds deploy takes
  fake_deploy_fail   true: deploy fails
  fake_soft_power_off_ignored  true: soft power off waits out its timeout and fails (the OS never answers)

In-process tests can also hold a node's next step or power action until an
event is set (``hold(node_id, event)``, at most a minute), to keep a task in
flight for exactly as long as they need, whatever the load.
"""
from __future__ import annotations

import threading

from taskvisor.baremetal import interfaces as base
from taskvisor.baremetal.interfaces import HardwareError, HardwareTask
from taskvisor.baremetal.steps import clean_step, deploy_step


_holds: dict[str, threading.Event] = {}
_holds_lock = threading.Lock()


def hold(node_id: str, event: threading.Event) -> None:
    with _holds_lock:
        _holds[node_id] = event


def _wait_if_held(task: HardwareTask) -> None:
    with _holds_lock:
        event = _holds.pop(task.node.get("id"), None)
    if event is not None:
        event.wait(60)


def _delay(task: HardwareTask, key: str) -> float:
    value = task.driver_info.get("fake_clean_delay", 0)
    if isinstance(value, dict):
        value = value.get(key, 0)
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        raise HardwareError(f"driver_info fake_clean_delay must be a number of seconds, not {value!r}") from None


def _fake_step(task: HardwareTask, key: str, abortable: bool | None) -> None:
    _wait_if_held(task)
    if abortable is None:  # a careless driver: it waits with the default (abortable) wait
        task.wait(_delay(task, key))
    else:
        task.wait(_delay(task, key), abortable=abortable)
    failing = task.driver_info.get("fake_fail_step") or []
    if key in ([failing] if isinstance(failing, str) else failing):
        raise HardwareError(f"fake failure injected by driver_info fake_fail_step={key}")
    runs = task.internal.setdefault("fake_step_runs", {})
    runs[key] = runs.get(key, 0) + 1


class FakePower(base.PowerInterface):
    name = "fake"
    properties = {"fake_power_delay": "Seconds a power action takes. Optional.",
                  "fake_power_fail": "true: every power action fails. Optional.",
                  "fake_soft_power_off_ignored": "true: soft power off waits out its timeout and fails. Optional."}

    def get_power_state(self, task: HardwareTask) -> str:
        return task.node.get("power_state") or base.POWER_OFF

    def set_power_state(self, task: HardwareTask, target: str, timeout: float | None = None) -> str:
        _wait_if_held(task)
        task.wait(float(task.driver_info.get("fake_power_delay", 0)), abortable=False)
        if target == base.SOFT_POWER_OFF and task.driver_info.get("fake_soft_power_off_ignored"):
            task.wait(float(timeout or 0), abortable=False)
            raise HardwareError(f"node did not power off within {timeout}s (fake_soft_power_off_ignored)")
        if task.driver_info.get("fake_power_fail"):
            raise HardwareError(f"fake power failure injected by driver_info fake_power_fail ({target})")
        return base.POWER_RESULT[target]


class FakeManagement(base.ManagementInterface):
    name = "fake"
    BOOT_DEVICES = ("pxe", "disk", "cdrom", "bios")

    def supported_boot_devices(self, task: HardwareTask) -> list[str]:
        return list(self.BOOT_DEVICES)

    def get_boot_device(self, task: HardwareTask) -> dict:
        return {"boot_device": task.internal.get("fake_boot_device", "disk"),
                "persistent": task.internal.get("fake_boot_persistent", False)}

    @clean_step(priority=0, requires_ramdisk=False, argsinfo={
        "device": {"description": "Boot device: pxe, disk, cdrom, bios", "required": True, "type": "string"},
        "persistent": {"description": "Keep it for every boot", "required": False, "type": "boolean"}})
    def set_boot_device(self, task: HardwareTask, device: str, persistent: bool = False) -> None:
        if device not in self.BOOT_DEVICES:
            raise HardwareError(f"unknown boot device {device!r}; use one of {', '.join(self.BOOT_DEVICES)}")
        _fake_step(task, "management.set_boot_device", abortable=False)
        task.internal.update(fake_boot_device=device, fake_boot_persistent=persistent)

    def set_boot_mode(self, task: HardwareTask, mode: str) -> None:
        _wait_if_held(task)

    def set_secure_boot(self, task: HardwareTask, enabled: bool) -> None:
        _wait_if_held(task)

    # Ironic's fake indicators: a read-only chassis LED and a system LED one may set
    INDICATORS = {"chassis": {"led-0": {"readonly": True, "states": ["OFF", "ON"]}},
                  "system": {"led": {"readonly": False, "states": ["BLINKING", "OFF", "ON"]}}}

    def supported_indicators(self, task: HardwareTask) -> dict:
        return self.INDICATORS

    def _indicator(self, component: str, indicator: str) -> dict:
        if component not in self.INDICATORS:
            raise HardwareError(f"Invalid component {component} specified.")
        if indicator not in self.INDICATORS[component]:
            raise HardwareError(f"Invalid indicator {indicator} specified.")
        return self.INDICATORS[component][indicator]

    def get_indicator_state(self, task: HardwareTask, component: str, indicator: str) -> str:
        self._indicator(component, indicator)
        return (task.internal.get("fake_indicators") or {}).get(f"{indicator}@{component}", "ON")

    def set_indicator_state(self, task: HardwareTask, component: str, indicator: str, state: str) -> None:
        known = self._indicator(component, indicator)
        if known["readonly"] or state not in known["states"]:
            raise HardwareError(f"Indicator {indicator}@{component} cannot be set to {state}.")
        _wait_if_held(task)
        task.internal.setdefault("fake_indicators", {})[f"{indicator}@{component}"] = state

    def attach_virtual_media(self, task: HardwareTask, device_type: str, image_url: str) -> None:
        _wait_if_held(task)  # accepted: there is no media to insert

    def detach_virtual_media(self, task: HardwareTask, device_types: list[str]) -> None:
        _wait_if_held(task)


class FakeConsole(base.ConsoleInterface):
    name = "fake"

    def start_console(self, task: HardwareTask) -> dict:
        _wait_if_held(task)
        return {}  # Ironic's fake console: enabled, with nothing to connect to

    def stop_console(self, task: HardwareTask) -> None:
        _wait_if_held(task)


class FakeDeploy(base.DeployInterface):
    name = "fake"
    properties = {"fake_deploy_delay": "Seconds deploy takes. Optional.",
                  "fake_deploy_fail": "true: deploy fails. Optional.",
                  "fake_clean_delay": "Seconds every clean step takes, or {\"interface.step\": seconds}. Optional.",
                  "fake_fail_step": "A clean step (\"interface.step\") or list of them that fail. Optional."}

    @deploy_step(priority=100)  # Ironic's fake deploy interface: one step, deploy
    def deploy(self, task: HardwareTask) -> None:
        task.wait(float(task.driver_info.get("fake_deploy_delay", 0)), abortable=False)
        if task.driver_info.get("fake_deploy_fail"):
            raise HardwareError("fake deploy failure injected by driver_info fake_deploy_fail")

    @clean_step(priority=10, abortable=True, requires_ramdisk=True)
    def erase_devices(self, task: HardwareTask) -> None:
        _fake_step(task, "deploy.erase_devices", abortable=True)

    @clean_step(priority=0, abortable=True, requires_ramdisk=True, argsinfo={
        "passes": {"description": "How many times to overwrite each disk", "required": True,
                   "type": "integer"}})
    def burnin_disk(self, task: HardwareTask, passes: int) -> None:
        _fake_step(task, "deploy.burnin_disk", abortable=True)


class FakeBios(base.BiosInterface):
    name = "fake"

    @clean_step(priority=0, requires_ramdisk=False, argsinfo={
        "settings": {"description": "A list of {name, value} BIOS settings", "required": True,
                     "type": "array"}})
    def apply_configuration(self, task: HardwareTask, settings: list) -> None:
        _fake_step(task, "bios.apply_configuration", abortable=False)
        task.internal["fake_bios_settings"] = settings

    @clean_step(priority=0, requires_ramdisk=False)
    def factory_reset(self, task: HardwareTask) -> None:
        _fake_step(task, "bios.factory_reset", abortable=False)
        task.internal.pop("fake_bios_settings", None)

    @clean_step(priority=0, requires_ramdisk=False)
    def cache_bios_settings(self, task: HardwareTask) -> None:
        _fake_step(task, "bios.cache_bios_settings", abortable=False)

    def get_settings(self, task: HardwareTask) -> list[dict]:
        """What apply_configuration set (factory_reset clears it)."""
        return [{"name": str(s["name"]), "value": None if s.get("value") is None else str(s["value"])}
                for s in task.internal.get("fake_bios_settings") or [] if isinstance(s, dict) and s.get("name")]


class FakeRaid(base.RaidInterface):
    name = "fake"

    @clean_step(priority=0, requires_ramdisk=False, argsinfo={
        "create_root_volume": {"description": "Create the root volume", "required": False, "type": "boolean"},
        "create_nonroot_volumes": {"description": "Create the other volumes", "required": False,
                                   "type": "boolean"}})
    def create_configuration(self, task: HardwareTask, create_root_volume: bool = True,
                             create_nonroot_volumes: bool = True) -> None:
        _fake_step(task, "raid.create_configuration", abortable=False)

    @clean_step(priority=0, requires_ramdisk=False)
    def delete_configuration(self, task: HardwareTask) -> None:
        _fake_step(task, "raid.delete_configuration", abortable=False)


class FakeVendor(base.VendorInterface):
    name = "fake"

    # runs in the ramdisk (the node shows clean wait) and cannot be interrupted.
    # Its wait does not repeat that (it uses the default): the conductor
    # enforces the step's declaration, not the driver.
    @clean_step(priority=0, abortable=False, requires_ramdisk=True, argsinfo={
        "duration": {"description": "Seconds of CPU burn-in", "required": True, "type": "integer"}})
    def burnin_cpu(self, task: HardwareTask, duration: int) -> None:
        _fake_step(task, "vendor.burnin_cpu", abortable=None)

    # Ironic's fake vendor interface runs this in every automated clean
    # (priority 1), so scripts written against Ironic's fake driver see it.
    @clean_step(priority=1)
    def log_passthrough(self, task: HardwareTask) -> None:
        _fake_step(task, "vendor.log_passthrough", abortable=False)


class FakeFirmware(base.FirmwareInterface):
    name = "fake"

    @clean_step(priority=0, argsinfo={
        "settings": {"description": "A list of {component, url} firmware updates", "required": True,
                     "type": "array"}})
    def update(self, task: HardwareTask, settings: list) -> None:
        _fake_step(task, "firmware.update", abortable=False)


class FakeHardware:
    name = "fake-hardware"
    # Interface kinds with no behaviour here, named as Ironic's fake-hardware names them.
    named = {"boot": "fake", "inspect": "fake", "rescue": "fake"}
    # Other implementations a node of this driver may name (Ironic's no-* interfaces):
    # the kind then does nothing, and offers no clean steps.
    alternatives = {kind: [f"no-{kind}"] for kind in ("console", "inspect", "raid", "vendor", "bios", "firmware",
                                                      "rescue")}

    def __init__(self):
        self.power, self.management, self.deploy = FakePower(), FakeManagement(), FakeDeploy()
        self.bios, self.raid, self.vendor = FakeBios(), FakeRaid(), FakeVendor()
        self.firmware, self.console = FakeFirmware(), FakeConsole()
