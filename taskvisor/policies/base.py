"""Check strings every area builds on: Nova's secure-RBAC personas
(project reader / member / admin) and Ironic's node owner / lessee ones.

The admin role is the cloud administrator in any scope, as in Nova. A
system-scoped token (``system_scope:all``) with reader or member also
matches Ironic's system personas, so an auditor's system-reader token works
as it does with Ironic. The few Ironic rules that only a system-scoped user
passes even against a project admin use SYSTEM_SCOPE_MEMBER (a runbook's
``public`` flag); a system-scoped admin token (noauth2: the
``OpenStack-System-Scope: all`` header) passes them.
"""
from oslo_policy import policy

ADMIN = "role:admin"
PROJECT_READER = "role:reader and project_id:%(project_id)s"
PROJECT_MEMBER = "role:member and project_id:%(project_id)s"

# Nova
PROJECT_READER_OR_ADMIN = "rule:project_reader_api or rule:context_is_admin"
PROJECT_MEMBER_OR_ADMIN = "rule:project_member_api or rule:context_is_admin"
ADMIN_API = "rule:admin_api"

# Ironic (targets carry node.owner / node.lessee; NO_PROJECT when unset, which matches no caller)
NO_PROJECT = "(none)"
SYSTEM_ADMIN = "rule:context_is_admin"
SYSTEM_MEMBER = "rule:context_is_admin or (role:member and system_scope:all)"
SYSTEM_READER = "rule:context_is_admin or (role:reader and system_scope:all)"
SYSTEM_SCOPE_MEMBER = "role:member and system_scope:all"  # Ironic's SYSTEM_MEMBER, project admins excluded
OWNER_ADMIN = "role:admin and project_id:%(node.owner)s"
OWNER_MEMBER = "role:member and project_id:%(node.owner)s"
OWNER_READER = "role:reader and project_id:%(node.owner)s"
LESSEE_ADMIN = "role:admin and project_id:%(node.lessee)s"
LESSEE_MEMBER = "role:member and project_id:%(node.lessee)s"
LESSEE_READER = "role:reader and project_id:%(node.lessee)s"
SYSTEM_OR_PROJECT_READER = f"({SYSTEM_READER}) or ({OWNER_READER}) or ({LESSEE_READER})"
SYSTEM_OR_OWNER_READER = f"({SYSTEM_READER}) or ({OWNER_READER})"
SYSTEM_MEMBER_OR_OWNER_ADMIN = f"({SYSTEM_MEMBER}) or ({OWNER_ADMIN})"
SYSTEM_MEMBER_OR_OWNER_MEMBER = f"({SYSTEM_MEMBER}) or ({OWNER_MEMBER})"
SYSTEM_OR_OWNER_MEMBER_AND_LESSEE_ADMIN = f"({SYSTEM_MEMBER}) or ({OWNER_MEMBER}) or ({LESSEE_ADMIN})"
API_READER = "role:reader"

rules = [
    policy.RuleDefault("context_is_admin", ADMIN, "The cloud administrator: sees and acts on every project."),
    policy.RuleDefault("admin_api", ADMIN, "Default rule for administrator APIs."),
    policy.RuleDefault("project_reader_api", PROJECT_READER, "A reader of the target's project."),
    policy.RuleDefault("project_member_api", PROJECT_MEMBER, "A member of the target's project."),
    policy.RuleDefault("project_reader_or_admin", PROJECT_READER_OR_ADMIN, "Project reader, or admin."),
    policy.RuleDefault("project_member_or_admin", PROJECT_MEMBER_OR_ADMIN, "Project member, or admin."),
]


def op(name: str, check: str, description: str, method: str, path: str,
       scope_types: list[str] | None = None) -> policy.DocumentedRuleDefault:
    """One rule guarding one route (several paths: list them with ``|``)."""
    return policy.DocumentedRuleDefault(
        name=name, check_str=check, description=description,
        operations=[{"method": method, "path": p} for p in path.split("|")],
        scope_types=scope_types or ["project"])
