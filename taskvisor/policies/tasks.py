"""The task API (global lists, show, watch, cancel) and the web console."""
from taskvisor.policies.base import ADMIN_API, PROJECT_MEMBER_OR_ADMIN, PROJECT_READER_OR_ADMIN, op

rules = [
    op("tasks:list", PROJECT_READER_OR_ADMIN, "List tasks (a project's own; see tasks:list:all_projects)",
       "GET", "/compute/v2.1/tasks|/baremetal/v1/tasks"),
    op("tasks:list:all_projects", ADMIN_API, "List the tasks of every project (all_tenants / project_id)",
       "GET", "/compute/v2.1/tasks|/baremetal/v1/tasks"),
    op("tasks:show", PROJECT_READER_OR_ADMIN, "Show one task with its steps", "GET", "/baremetal/v1/tasks/{task_id}"),
    op("tasks:watch", PROJECT_READER_OR_ADMIN, "Stream task and step changes (server-sent events, ?watch=true)",
       "GET", "/compute/v2.1/tasks|/baremetal/v1/tasks"),
    op("tasks:cancel", PROJECT_MEMBER_OR_ADMIN, "Cancel a queued task, or one whose current step can stop",
       "POST", "/compute/v2.1/tasks/{task_id}/action|/baremetal/v1/tasks/{task_id}/action"),
    op("console:view", PROJECT_READER_OR_ADMIN, "Open the web console (each page shows what the API would)",
       "GET", "/|/console/servers/{server_id}"),
]
