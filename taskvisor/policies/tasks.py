"""Policy defaults of the task API (list, show, watch, cancel)."""
from oslo_policy import policy

ADMIN = "role:admin"
ADMIN_OR_OWNER = "role:admin or project_id:%(project_id)s"

rules = [
    policy.DocumentedRuleDefault(
        name="tasks:list", check_str=ADMIN_OR_OWNER,
        description="List tasks (a project's own; admins every project's with all_tenants).",
        operations=[{"method": "GET", "path": "/compute/v2.1/tasks"},
                    {"method": "GET", "path": "/baremetal/v1/tasks"}]),
    policy.DocumentedRuleDefault(
        name="tasks:list:all_projects", check_str=ADMIN,
        description="List the tasks of every project.",
        operations=[{"method": "GET", "path": "/compute/v2.1/tasks?all_tenants=1"}]),
    policy.DocumentedRuleDefault(
        name="tasks:show", check_str=ADMIN_OR_OWNER,
        description="Show one task with its steps.",
        operations=[{"method": "GET", "path": "/compute/v2.1/tasks/{task_id}"}]),
    policy.DocumentedRuleDefault(
        name="tasks:watch", check_str=ADMIN_OR_OWNER,
        description="Stream task and step transitions (server-sent events).",
        operations=[{"method": "GET", "path": "/compute/v2.1/tasks?watch=true"}]),
    policy.DocumentedRuleDefault(
        name="console:view", check_str="",
        description="Open the web console; every page then shows only what the API would show the caller.",
        operations=[{"method": "GET", "path": "/"}, {"method": "GET", "path": "/console/servers/{server_id}"}]),
    policy.DocumentedRuleDefault(
        name="tasks:cancel", check_str=ADMIN_OR_OWNER,
        description="Cancel a queued task, or a running one whose current step can stop.",
        operations=[{"method": "POST", "path": "/compute/v2.1/tasks/{task_id}/action"}]),
]
