"""Authorization: every route names an oslo.policy rule and calls
``authorize(ctx, rule, target)``; a denial is the API's own 403.

Rules and defaults live in ``taskvisor/policies/``; ``[oslo_policy]
policy_file`` (YAML or JSON) overrides any of them. The file is re-read
when it changes, as oslo.policy does for Nova and Ironic.

Decisions are remembered for up to ``DECISION_SECONDS``: oslo.policy's
``enforce`` re-walks every registered rule and looks for the policy file on
each call (13 % of the API's CPU in benchmarks/api_cpu.py's profile), while a
request asks the same few questions as the ones before it. A changed policy
file so applies within that time instead of at once.
"""
from __future__ import annotations

import os
import threading
import time

from oslo_config import cfg
from oslo_policy import policy

from taskvisor.api.errors import Forbidden
from taskvisor.policies import list_rules

_LOCK = threading.Lock()
_ENFORCERS: dict[str, policy.Enforcer] = {}
DECISION_SECONDS = 1.0
MAX_DECISIONS = 10_000


class _Decisions:
    """One enforcer's recent answers, by (rule, target, credentials); all
    forgotten every DECISION_SECONDS (or when there are too many)."""

    def __init__(self):
        self.answers: dict = {}
        self.since = time.monotonic()

    def fresh(self) -> dict:
        now = time.monotonic()
        if now - self.since > DECISION_SECONDS or len(self.answers) > MAX_DECISIONS:
            self.answers, self.since = {}, now
        return self.answers


_DECISIONS: dict[policy.Enforcer, _Decisions] = {}


def policy_path(conf) -> str:
    path = conf.oslo_policy.policy_file
    if not os.path.isabs(path):
        config_dir = conf.config_dir
        for base in filter(None, (config_dir, os.getcwd())):
            candidate = os.path.join(base, path)
            if os.path.exists(candidate):
                return candidate
    return path


def new_enforcer(policy_file: str) -> policy.Enforcer:
    oslo_conf = cfg.ConfigOpts()
    oslo_conf([], project="taskvisor", default_config_files=[], default_config_dirs=[])
    enforcer = policy.Enforcer(oslo_conf, policy_file=policy_file, use_conf=True)
    enforcer.register_defaults(list_rules())
    return enforcer


def enforcer_for(conf) -> policy.Enforcer:
    path = policy_path(conf)
    with _LOCK:
        enforcer = _ENFORCERS.get(path)
        if enforcer is None:
            enforcer = _ENFORCERS[path] = new_enforcer(path)
    return enforcer


def default_target(ctx) -> dict:
    return {"project_id": ctx.project_id, "user_id": ctx.user_id}


def allowed(ctx, rule: str, target: dict | None = None) -> bool:
    enforcer = ctx.enforcer
    if enforcer is None:
        raise RuntimeError("request context has no policy enforcer")
    # oslo.policy formats "%(key)s" against the target: every key it may name must be present
    full = {**default_target(ctx), **(target or {})}
    try:
        key = (rule, tuple(sorted(full.items())), ctx.project_id, ctx.user_id, tuple(ctx.roles), ctx.system_scope)
        hash(key)
    except TypeError:  # a target value that is a list or dict: asked afresh
        return _enforce(enforcer, rule, full, ctx)
    decisions = _DECISIONS.get(enforcer)
    if decisions is None:
        decisions = _DECISIONS.setdefault(enforcer, _Decisions())
    answers = decisions.fresh()
    answer = answers.get(key)
    if answer is None:
        answer = answers[key] = _enforce(enforcer, rule, full, ctx)
    return answer


def _enforce(enforcer: policy.Enforcer, rule: str, target: dict, ctx) -> bool:
    try:
        return bool(enforcer.enforce(rule, target, ctx.policy_creds(), do_raise=False))
    except policy.InvalidScope:  # e.g. a system-scoped token on a project-only rule
        return False


def memo_allowed(ctx):
    """``allowed`` for one request over many rows: each (rule, target)
    is looked up once. A list of 1,000 servers or nodes asks the same few
    questions of a handful of owners, several per row. ``allowed``'s own
    cache spares oslo.policy, but building its key (the merged, sorted
    target and the caller's credentials) costs ~8 us against ~1.5 us here:
    the caller is fixed for the request, so only (rule, target) need be
    keyed. Answers also stay the same for the whole list."""
    seen: dict = {}

    def check(rule: str, target: dict | None = None) -> bool:
        key = (rule, tuple(target.items()) if target else ())
        try:
            found = seen.get(key)
        except TypeError:  # a target value that is a list or dict: as allowed() does, asked afresh
            return allowed(ctx, rule, target)
        if found is None:
            found = seen[key] = allowed(ctx, rule, target)
        return found
    return check


def authorize(ctx, rule: str, target: dict | None = None) -> None:
    """Raise the API's 403 unless ``rule`` allows ``ctx`` on ``target``
    (default: the caller's own project)."""
    if not allowed(ctx, rule, target):
        raise Forbidden(f"Policy doesn't allow {rule} to be performed.")
