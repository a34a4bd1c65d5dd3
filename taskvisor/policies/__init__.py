"""Every policy rule with its default, one module per area (oslo.policy
``DocumentedRuleDefault`` lists named ``rules``); ``list_rules`` is what the
enforcer registers and what ``taskvisor policy list`` prints."""
from __future__ import annotations

import importlib
import pkgutil


def list_rules() -> list:
    """Base rules first, then each area's module (any module here with ``rules``)."""
    from taskvisor.policies import base
    found = list(base.rules)
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        found.extend(getattr(module, "rules", []))
    return found
