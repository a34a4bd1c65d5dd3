"""docs/server-states.md, generated: ``python -m taskvisor.flows.server_doc > docs/server-states.md``
(a unit test fails when the file is stale). It lives with the flows because
it shows, for each action of the server machine, the flow that carries it out."""
from __future__ import annotations

from taskvisor.flows import FLOWS
from taskvisor.states import diagram
from taskvisor.states import server as states

API_BODIES = {
    "create": "POST /servers", "stop": '`{"os-stop": null}`', "start": '`{"os-start": null}`',
    "reboot": '`{"reboot": {"type": "SOFT"}}`', "reboot_hard": '`{"reboot": {"type": "HARD"}}`',
    "rescue": '`{"rescue": null}` → 200 `{"adminPass"}`', "unrescue": '`{"unrescue": null}`',
    "shelve": '`{"shelve": null}`', "shelveOffload": '`{"shelveOffload": null}`',
    "unshelve": '`{"unshelve": null}`', "resize": '`{"resize": {"flavorRef": "2"}}`',
    "confirmResize": '`{"confirmResize": null}` → 204', "revertResize": '`{"revertResize": null}`',
    "pause": '`{"pause": null}`', "unpause": '`{"unpause": null}`', "suspend": '`{"suspend": null}`',
    "resume": '`{"resume": null}`', "delete": "DELETE /servers/{id} → 204",
    "forceDelete": '`{"forceDelete": null}`',
    "createImage": '`{"createImage": {"name": "snap"}}` → 202 `Location`',
    "createBackup": '`{"createBackup": {"name": "b", "backup_type": "daily", "rotation": 2}}`',
    "rebuild": '`{"rebuild": {"imageRef": "…"}}` → 202 `{"server"}`',
    "resetState": '`{"os-resetState": {"state": "error"}}` (admin, instant)',
    "injectNetworkInfo": '`{"injectNetworkInfo": null}` (admin)',
    "softDelete": "DELETE /servers/{id} with `reclaim_instance_interval` > 0",
    "restore": '`{"restore": null}`',
    "migrate": '`{"migrate": null}` (admin; `{"host"}` from 2.56)',
}


def _where(target: str) -> str:
    return "its source" if target == states.SAME else target


def table() -> str:
    rows = ["| action | request | allowed vm_states | task_states | steps (flow) | ends in |",
            "|---|---|---|---|---|---|"]
    for action in states.ACTIONS.values():
        flow = FLOWS.get(action.flow)
        ends = ", ".join(f"{_where(target)} ({event})" if event != states.DONE else _where(target)
                         for event, target in action.outcomes.items())
        failure = "source or error" if action.fail_back else "error"
        rows.append(f"| {action.name} | {API_BODIES[action.name]} | {', '.join(action.sources)} | "
                    f"{' → '.join(action.task_states)} | {', '.join(flow.step_names)} (`{flow.name}`) | "
                    f"{ends}; on failure {failure} |")
    return "\n".join(rows)


def markdown() -> str:
    return f"""# Server states

Generated from `taskvisor/states/server.py` and the flows by `python -m taskvisor.flows.server_doc`;
`taskvisor states server --format dot|mermaid` prints the diagram alone.

A machine state is a stable `vm_state` (no task runs) or `vm_state/task_state`
while a task runs. An API action leaves a stable state for its first
task_state (the API writes it in the same transaction as the task row);
each flow step that names a task_state moves on to it; a finished task
leaves with `done` (or another outcome: shelve `kept` when
`[DEFAULT] shelved_offload_time` is not 0, confirm/revert `stopped` when the
server was stopped before the resize), `failed` (back to the source state:
the guest still looks as it did, e.g. a reboot that failed before it touched
power) or `error` (the guest is in a state nobody asked for). Delete and
forceDelete are accepted in any state and take the server over from a
running task.

A wrong state answers 409 `conflictingRequest`: "Cannot '<action>' instance
<id> while it is in vm_state <s>" (or "task_state <t>" while a task runs).
`force: true` (microversion 2.101) on stop, rescue, shelve, shelveOffload and
resize skips the clean shutdown.

A locked server (`lock`; `locked` from 2.9, `locked_reason` from 2.73)
refuses every action whose row says so to non-admins: 409 "Instance <id> is
locked" (Nova's check_instance_lock; createImage, createBackup and
os-resetState do not check it). os-resetState is instant: the API moves the
server through `resetting` to the asked state and records the task finished
in the same transaction.

## Actions

{table()}

## Diagram

```mermaid
{diagram.render("server", "mermaid")}
```
"""


if __name__ == "__main__":
    print(markdown(), end="")
