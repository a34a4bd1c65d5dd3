"""The task list (dead-letter view) and an admin's retry of a dead-lettered task."""
from taskvisor.policies.base import ADMIN_API, PROJECT_READER_OR_ADMIN, op

rules = [
    op("taskvisor:dead_letters:list", PROJECT_READER_OR_ADMIN,
       "List tasks (a project's own; every project's for an admin)", "GET", "/compute/v2.1/tasks"),
    op("taskvisor:dead_letters:retry", ADMIN_API, "Re-queue a dead-lettered task from its last checkpoint",
       "POST", "/compute/v2.1/tasks/{task_id}/action"),
]
