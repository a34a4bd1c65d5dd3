"""Clean steps: declared on hardware interfaces with ``@clean_step``,
collected from a node's driver, ordered for automated cleaning, and
validated when a user asks for them (manual cleaning).

A step as the API shows it (Ironic's shape)::

    {"interface": "deploy", "step": "erase_devices", "priority": 10,
     "abortable": True, "argsinfo": {...}, "requires_ramdisk": True}

User steps add ``args``. Reserved steps (``hold``, ``wait``, ``power_on``,
``power_off``, ``reboot``) are run by the conductor itself on any interface.
"""
from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

# Ties in priority go to the interface with the higher weight (Ironic's order).
INTERFACE_PRIORITY = {"vendor": 7, "power": 6, "management": 5, "firmware": 4, "deploy": 3, "bios": 2,
                      "raid": 1}
RESERVED = ("hold", "wait", "power_on", "power_off", "reboot")
_RESERVED_ARGS = {"wait": {"seconds": {"description": "Seconds to wait (capped by [conductor] "
                                                      "max_conductor_wait_step_seconds)",
                                       "required": False, "type": "integer"}}}

# What PUT …/states/provision accepts as clean_steps (Ironic's _STEPS_SCHEMA subset).
USER_STEPS_SCHEMA = {
    "type": "array", "minItems": 1,
    "items": {
        "type": "object", "required": ["interface", "step"], "additionalProperties": False,
        "properties": {
            "interface": {"enum": list(INTERFACE_PRIORITY)},
            "step": {"type": "string", "minLength": 1},
            "args": {"type": "object"},
            "order": {"anyOf": [{"type": "integer", "minimum": 0},
                                {"type": "string", "minLength": 1, "pattern": "^[0-9]+$"}]},
        },
    },
}
_JSON_TYPES = {"string", "integer", "number", "boolean", "array", "object"}


class InvalidSteps(ValueError):
    """Steps a user asked for that this node cannot run (HTTP 400)."""


def clean_step(priority: int, abortable: bool = False, argsinfo: dict | None = None,
               requires_ramdisk: bool = True):
    """Mark a hardware interface method as a clean step.

    ``argsinfo``: {name: {"description": str, "required": bool, "type": json type (optional)}}.
    The method is called as ``method(task, **args)``."""
    if not isinstance(priority, int) or priority < 0:
        raise ValueError(f"clean step priority must be a non-negative int, not {priority!r}")
    for name, info in (argsinfo or {}).items():
        if info.get("type", "string") not in _JSON_TYPES:
            raise ValueError(f"clean step argument {name}: unknown type {info.get('type')!r}")

    def mark(fn):
        fn._clean_step = {"priority": priority, "abortable": abortable, "argsinfo": argsinfo or {},
                          "requires_ramdisk": requires_ramdisk}
        return fn
    return mark


def deploy_step(priority: int, argsinfo: dict | None = None):
    """Mark a hardware interface method as a deploy step (Ironic's
    decorator): recorded with the driver (``driver_deploy_steps``) so deploy
    templates and runbooks can be checked against what a driver offers."""
    def mark(fn):
        fn._deploy_step = {"priority": priority, "argsinfo": argsinfo or {}}
        return fn
    return mark


def driver_deploy_steps(driver: Any) -> list[dict]:
    """Every deploy step of a driver's interfaces, in interface then name order."""
    found = []
    for interface_type in INTERFACE_PRIORITY:
        interface = getattr(driver, interface_type, None)
        for name in sorted(dir(type(interface))) if interface is not None else ():
            meta = getattr(getattr(type(interface), name, None), "_deploy_step", None)
            if meta is not None:
                found.append({"interface": interface_type, "step": name, **copy.deepcopy(meta)})
    return found


def for_node(known: list[dict], node: dict) -> list[dict]:
    """A driver's steps less those of the kinds the node replaced with
    another implementation (``nodes.interfaces``: only choices other than
    the driver's default are stored, and those do nothing here)."""
    replaced = node.get("interfaces") or {}
    return [s for s in known if s["interface"] not in replaced]


def step_id(step: dict) -> str:
    return f"{step['interface']}.{step['step']}"


def interface_steps(interface: Any, interface_type: str) -> list[dict]:
    """The steps one interface object declares, in name order."""
    found = []
    for name in sorted(dir(type(interface))):
        meta = getattr(getattr(type(interface), name, None), "_clean_step", None)
        if meta is not None:
            found.append({"interface": interface_type, "step": name, **copy.deepcopy(meta)})
    return found


def driver_steps(driver: Any) -> list[dict]:
    """Every clean step of every interface of a node's driver (unordered)."""
    steps: list[dict] = []
    for interface_type in INTERFACE_PRIORITY:
        interface = getattr(driver, interface_type, None)
        if interface is not None:
            steps.extend(interface_steps(interface, interface_type))
    return steps


@lru_cache(maxsize=8)
def _parse_overrides(text: str) -> tuple[tuple[str, int], ...]:
    return tuple(parse_overrides(text).items())


def parse_overrides(text: str) -> dict[str, int]:
    """``[conductor] clean_step_priority_override``: "interface.step:priority,…"."""
    overrides: dict[str, int] = {}
    for item in (text or "").replace(";", ",").split(","):
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.rpartition(":")
        if not sep or "." not in key or not value.strip().isdigit():
            raise ValueError(f"[conductor] clean_step_priority_override: {item!r} is not "
                             "'interface.step:priority'")
        overrides[key.strip()] = int(value)
    return overrides


def automated_steps(known: list[dict], overrides: dict[str, int] | None = None) -> list[dict]:
    """Steps automated cleaning runs, of a driver's ``known`` steps
    (``driver_steps``): priority > 0 after overrides, highest priority first,
    ties broken by interface weight."""
    overrides = overrides or {}
    steps = []
    for known_step in known:  # only the steps that run are copied (a driver knows many, each with argsinfo)
        priority = overrides.get(step_id(known_step), known_step["priority"])
        if priority > 0:
            steps.append({**copy.deepcopy(known_step), "priority": priority})
    return sorted(steps, key=lambda s: (s["priority"], INTERFACE_PRIORITY[s["interface"]]), reverse=True)


def automated_plan(known: list[dict], node: dict, conf: Any) -> list[dict]:
    """The clean steps automated cleaning runs on this node ([] when it is
    off for the node, or by [conductor] automated_clean). ``known``: the
    steps of the node's driver. ValueError for a bad priority override."""
    enabled = node["automated_clean"] if node["automated_clean"] is not None else conf.conductor.automated_clean
    if not enabled:
        return []
    # parsed once per text: a provide asks for it on every request
    return automated_steps(known, dict(_parse_overrides(conf.conductor.clean_step_priority_override or "")))


CLEANING_KEYS = ("clean_steps", "clean_step_index")  # driver_internal_info of a running clean


def without_plan(internal: dict | None) -> dict:
    """driver_internal_info without the keys of a clean that ran or runs."""
    return {k: v for k, v in (internal or {}).items() if k not in CLEANING_KEYS}


def with_plan(internal: dict | None, plan: list[dict], manual: bool) -> dict:
    """driver_internal_info as the node API shows a clean that starts."""
    return {**without_plan(internal), "clean_steps": plan, "manual_cleaning": manual}


def validate_user_steps(known: list[dict], user_steps: Any) -> list[dict]:
    """Check a manual clean request against the node driver's ``known`` steps; returns the
    steps to run, in the user's order, completed with the driver's data.
    Raises ``InvalidSteps`` listing every problem."""
    error = _best_error(_steps_validator().iter_errors(user_steps))
    if error is not None:
        raise InvalidSteps(f"Invalid clean_steps: {error.message}") from None
    known_by_id = {step_id(s): s for s in known}
    errors, result = [], []
    for user_step in user_steps:
        user_step = dict(user_step)
        user_step.pop("order", None)
        if user_step["step"] in RESERVED:
            driver_step = {"interface": user_step["interface"], "step": user_step["step"], "priority": 0,
                           "abortable": user_step["step"] in ("hold", "wait"),
                           "argsinfo": _RESERVED_ARGS.get(user_step["step"], {}), "requires_ramdisk": False}
        elif step_id(user_step) in known_by_id:
            driver_step = known_by_id[step_id(user_step)]
        else:
            errors.append(f"node does not support this clean step: {_show(user_step)}")
            continue
        errors.extend(_check_args(user_step, driver_step))
        result.append({**copy.deepcopy(driver_step), "args": user_step.get("args") or {}})
    if errors:
        raise InvalidSteps("; ".join(errors))
    return result


@lru_cache(maxsize=1)
def _steps_validator():
    """USER_STEPS_SCHEMA's validator, built (and the schema checked) once:
    ``jsonschema.validate`` does both on every call, most of a manual clean
    request's CPU. Imported here: a conductor validates steps only for a
    manual clean (~3 MB of modules)."""
    import jsonschema
    jsonschema.Draft202012Validator.check_schema(USER_STEPS_SCHEMA)
    return jsonschema.Draft202012Validator(USER_STEPS_SCHEMA)


def _best_error(errors):
    """The error ``jsonschema.validate`` would raise (None: valid)."""
    from jsonschema.exceptions import best_match
    return best_match(errors)


def _is_type(value: Any, kind: str) -> bool:
    """JSON schema's ``{"type": kind}`` check, without building a validator per argument."""
    return _steps_validator().TYPE_CHECKER.is_type(value, kind)


def _check_args(user_step: dict, driver_step: dict) -> list[str]:
    argsinfo = driver_step.get("argsinfo") or {}
    args = user_step.get("args") or {}
    errors = []
    unexpected = sorted(set(args) - set(argsinfo))
    if unexpected:
        errors.append(f"clean step {_show(user_step)} has these unexpected arguments: {', '.join(unexpected)}")
    missing = [name + (f" ({info['description']})" if info.get("description") else "")
               for name, info in argsinfo.items() if info.get("required") and name not in args]
    if missing:
        errors.append(f"clean step {_show(user_step)} is missing these required arguments: {', '.join(missing)}")
    for name, value in args.items():
        kind = argsinfo.get(name, {}).get("type")
        if kind and not _is_type(value, kind):
            errors.append(f"clean step {_show(user_step)} argument {name} must be of type {kind}, "
                          f"not {type(value).__name__}")
    return errors


def _show(step: dict) -> str:
    return str({k: step[k] for k in ("interface", "step", "args") if k in step})


# Deploy templates' steps join the deploy around the driver's core step,
# deploy.deploy (Ironic's priority 100): higher priorities run before it
# (e.g. BIOS settings before the image is written), lower ones after it;
# priority 0 disables a step.
CORE_DEPLOY_STEP = {"interface": "deploy", "step": "deploy", "priority": 100}


def _deploy_order(step: dict) -> tuple[int, int]:
    return int(step["priority"]), INTERFACE_PRIORITY[step["interface"]]


def order_deploy_steps(steps: list[dict]) -> list[dict]:
    """The enabled steps, in the order a deploy runs them (highest priority first)."""
    return sorted((s for s in steps if int(s["priority"]) > 0), key=_deploy_order, reverse=True)


def split_deploy_steps(steps: list[dict]) -> tuple[list[dict], list[dict]]:
    """(before, after) the core deploy step, each in running order."""
    ordered = order_deploy_steps(steps)
    core = _deploy_order(CORE_DEPLOY_STEP)
    return [s for s in ordered if _deploy_order(s) > core], [s for s in ordered if _deploy_order(s) <= core]


def validate_deploy_steps(known: list[dict], template_steps: list[dict]) -> list[dict]:
    """Check deploy templates' steps against the node driver's ``known``
    steps; returns them completed with the driver's data and the template's
    priority, in running order. Raises ``InvalidSteps``."""
    errors = []
    counts: dict[str, int] = {}
    for step in template_steps:
        counts[step_id(step)] = counts.get(step_id(step), 0) + 1
        if step["step"] in RESERVED:
            errors.append(f"node does not support this deploy step: {_show(step)}")
    duplicates = sorted(k for k, n in counts.items() if n > 1)
    if duplicates:
        errors.append("deploy steps from all deploy templates matching this node's instance traits cannot have "
                      f"the same interface and step. Duplicate deploy steps for {', '.join(duplicates)}")
    if errors:
        raise InvalidSteps("; ".join(errors))
    plain = [{k: s[k] for k in ("interface", "step", "args") if k in s} for s in template_steps]
    try:
        checked = validate_user_steps(known, plain)
    except InvalidSteps as exc:
        raise InvalidSteps(str(exc).replace("clean step", "deploy step")) from None
    return order_deploy_steps([{**c, "priority": int(t["priority"])} for c, t in zip(checked, template_steps)])
