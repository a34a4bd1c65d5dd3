"""Policy decisions are remembered briefly (taskvisor.api.policy): the same
question gets the same answer, a different caller or target is asked
afresh, and a changed policy file applies once the remembered answers
expire."""
from __future__ import annotations

import time

from taskvisor.api import policy
from taskvisor.api.context import RequestContext, with_implied


def _ctx(enforcer, project: str, roles: list[str]) -> RequestContext:
    return RequestContext(project_id=project, user_id="u", roles=with_implied(roles), authenticated=True,
                          enforcer=enforcer)


def test_answers_follow_caller_target_and_a_changed_policy_file(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text('"os_compute_api:os-services:list": "role:admin"\n')
    enforcer = policy.new_enforcer(str(path))
    member, admin = _ctx(enforcer, "p1", ["member"]), _ctx(enforcer, "p1", ["admin"])
    rule = "os_compute_api:servers:show"
    assert policy.allowed(member, rule, {"project_id": "p1"})
    assert not policy.allowed(member, rule, {"project_id": "p2"})  # another target: asked, not remembered
    assert policy.allowed(admin, rule, {"project_id": "p2"})  # another caller
    assert not policy.allowed(member, "os_compute_api:os-services:list")
    assert policy.allowed(admin, "os_compute_api:os-services:list")

    path.write_text('"os_compute_api:os-services:list": "role:member"\n')
    deadline = time.monotonic() + policy.DECISION_SECONDS + 5
    while not policy.allowed(member, "os_compute_api:os-services:list"):
        assert time.monotonic() < deadline, "the changed policy file never applied"
        time.sleep(0.1)
    assert not policy.allowed(_ctx(enforcer, "p1", ["reader"]), "os_compute_api:os-services:list")


def test_a_request_memo_answers_as_allowed_does(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("{}\n")
    member = _ctx(policy.new_enforcer(str(path)), "p1", ["member"])
    check = policy.memo_allowed(member)
    rule = "os_compute_api:servers:show"
    for target in ({"project_id": "p1"}, {"project_id": "p2"}, None, {"project_id": "p1", "tags": ["a"]}):
        assert check(rule, target) == policy.allowed(member, rule, target), target
        assert check(rule, target) == policy.allowed(member, rule, target), target  # remembered: the same
    assert check(rule, {"project_id": "p1"}) and not check(rule, {"project_id": "p2"})
