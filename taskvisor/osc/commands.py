"""`openstack server task list|show|watch`, `openstack task list|show|cancel`,
`openstack baremetal node task list`."""
from __future__ import annotations

import json
from urllib.parse import urlencode

from osc_lib import exceptions
from osc_lib.command import command

TERMINAL = ("succeeded", "failed", "reverted", "cancelled")
LIST_COLUMNS = ("ID", "Resource Type", "Resource ID", "Action", "Status", "Progress", "Current Step",
                "Created At", "Finished At")
KEYS = ("id", "resource_type", "resource_id", "action", "status", "progress", "current_step",
        "created_at", "finished_at")


def _row(task: dict) -> tuple:
    return tuple(task.get(k) for k in KEYS)


def _steps_text(task: dict) -> str:
    lines = []
    for step in task["steps"]:
        line = f"{step['index']}: {step['name']} {step['status']}"
        if step.get("host"):
            line += f" on {step['host']}"
        if step.get("attempt", 0) > 1:
            line += f" (attempt {step['attempt']})"
        if step.get("details"):
            line += " " + json.dumps(step["details"], sort_keys=True)
        if step.get("error"):
            line += f" error: {step['error']}"
        lines.append(line)
    return "\n".join(lines)


def _show(task: dict, formatter: str) -> tuple[tuple, tuple]:
    fields = {"id": task["id"], "action": task["action"], "status": task["status"],
              "progress": task["progress"], "resource_type": task["resource_type"],
              "resource_id": task["resource_id"], "current_step": task["current_step"],
              "request_id": task["request_id"], "project_id": task["project_id"],
              "created_at": task["created_at"], "started_at": task["started_at"],
              "finished_at": task["finished_at"],
              "steps": task["steps"] if formatter in ("json", "yaml") else _steps_text(task),
              "error": task["error"] if formatter in ("json", "yaml") else
              (task["error"] or {}).get("message")}
    return tuple(fields), tuple(fields.values())


class _TaskCommand(command.Command):
    @property
    def client(self):
        return self.app.client_manager.taskvisor

    def server_tasks(self, server_id: str) -> list[dict]:
        return self.client.compute("GET", f"/servers/{server_id}/tasks").json()["tasks"]

    def server_task(self, server_id: str, task_id: str) -> dict:
        return self.client.compute("GET", f"/servers/{server_id}/tasks/{task_id}").json()["task"]


class ListServerTasks(_TaskCommand, command.Lister):
    """List a server's tasks, newest first."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("server", metavar="<server>", help="Server (name or ID)")
        return parser

    def take_action(self, args):
        server = self.client.find_server(args.server)
        return LIST_COLUMNS, [_row(t) for t in self.server_tasks(server.id)]


class ShowServerTask(_TaskCommand, command.ShowOne):
    """Show one task of a server: its status, progress, steps and error."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("server", metavar="<server>", help="Server (name or ID)")
        parser.add_argument("task", metavar="<task>", help="Task ID")
        return parser

    def take_action(self, args):
        server = self.client.find_server(args.server)
        return _show(self.server_task(server.id, args.task), args.formatter)


class WatchServerTask(_TaskCommand, command.Command):
    """Follow a server's newest task (or --task) as its steps run; ends when it ends.
    Exits 1 when the task did not succeed."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("server", metavar="<server>", help="Server (name or ID)")
        parser.add_argument("--task", metavar="<task>", help="Task ID (default: the newest)")
        return parser

    def take_action(self, args):
        server = self.client.find_server(args.server)
        if args.task:
            task = self.server_task(server.id, args.task)
        else:
            tasks = self.server_tasks(server.id)
            if not tasks:
                raise exceptions.CommandError(f"server {args.server} has no tasks")
            task = tasks[0]
        out = self.app.stdout
        printer = StepPrinter(out, task)
        printer.show(task)
        if task["status"] not in TERMINAL:
            query = urlencode({"watch": "true", "resource_id": server.id})
            # resume from the moment of the task read above: nothing in between is missed
            headers = {"Accept": "text/event-stream", "Last-Event-ID": task["updated_at"]}
            resp = self.client.compute("GET", f"/tasks?{query}", headers=headers, stream=True)
            try:
                for event in sse_events(resp.iter_lines(decode_unicode=True)):
                    if event["id"] != task["id"]:
                        continue
                    task = event
                    printer.show(task)
                    if task["status"] in TERMINAL:
                        break
            finally:
                resp.close()
        if task["error"]:
            out.write(f"error: {task['error'].get('message')}\n")
        return 0 if task["status"] == "succeeded" else 1


def sse_events(lines):
    """Tasks from a text/event-stream, one per ``event: task``."""
    data = []
    for line in lines:
        if line is None:
            continue
        if isinstance(line, bytes):
            line = line.decode()
        if line.startswith("data:"):
            data.append(line[5:].strip())
        elif line == "" and data:
            yield json.loads("".join(data))["task"]
            data = []


class StepPrinter:
    """One line per step transition, and a progress bar line per change."""

    def __init__(self, out, task: dict):
        self.out = out
        self.seen: dict[int, tuple] = {}
        out.write(f"task {task['id']} ({task['action']} of {task['resource_type']} {task['resource_id']})\n")

    def show(self, task: dict) -> None:
        changed = False
        for step in task["steps"]:
            state = (step["status"], step.get("attempt"))
            if step["status"] == "pending" or self.seen.get(step["index"]) == state:
                continue
            self.seen[step["index"]] = state
            changed = True
            where = f" on {step['host']}" if step.get("host") else ""
            extra = f" {json.dumps(step['details'], sort_keys=True)}" if step.get("details") else ""
            error = f" error: {step['error']}" if step.get("error") else ""
            self.out.write(f"  {step['index'] + 1}/{len(task['steps'])} {step['name']:<20} "
                           f"{step['status']}{where}{extra}{error}\n")
        if changed or task["status"] in TERMINAL:
            filled = task["progress"] // 5
            self.out.write(f"  [{'#' * filled}{'.' * (20 - filled)}] {task['progress']:3d}% {task['status']}\n")
        self.out.flush()


class ListTasks(_TaskCommand, command.Lister):
    """List tasks of every resource, newest first."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--status", action="append", metavar="<status>",
                            help="Only tasks in this status (repeatable): queued, running, reverting, "
                                 "succeeded, failed, reverted, cancelled")
        parser.add_argument("--action", action="append", metavar="<action>", help="Only this action (repeatable)")
        parser.add_argument("--resource", metavar="<id>", help="Only tasks of this resource ID")
        parser.add_argument("--host", metavar="<host>", help="Only tasks that ran a step on (or are owned by) host")
        parser.add_argument("--changes-since", metavar="<time>", help="Only tasks changed since (ISO 8601)")
        parser.add_argument("--all-projects", action="store_true", help="Tasks of every project (admin)")
        parser.add_argument("--limit", type=int, metavar="<n>", help="At most n tasks")
        parser.add_argument("--marker", metavar="<task>", help="Start after this task")
        return parser

    def take_action(self, args):
        query: dict = {}
        if args.status:
            query["status"] = ",".join(args.status)
        if args.action:
            query["action"] = ",".join(args.action)
        for key, value in (("resource_id", args.resource), ("host", args.host),
                           ("changes-since", args.changes_since), ("limit", args.limit), ("marker", args.marker)):
            if value is not None:
                query[key] = value
        if args.all_projects:
            query["all_tenants"] = "1"
        tasks = self.client.compute("GET", "/tasks?" + urlencode(query)).json()["tasks"]
        return LIST_COLUMNS, [_row(t) for t in tasks]


class ShowTask(_TaskCommand, command.ShowOne):
    """Show any task by ID."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("task", metavar="<task>", help="Task ID")
        return parser

    def take_action(self, args):
        return _show(self.client.compute("GET", f"/tasks/{args.task}").json()["task"], args.formatter)


class CancelTask(_TaskCommand, command.Command):
    """Cancel a queued task, or one whose current step can stop; it reverts and ends cancelled."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("task", metavar="<task>", help="Task ID")
        return parser

    def take_action(self, args):
        self.client.compute("POST", f"/tasks/{args.task}/action", json={"cancel": None})


class ListNodeTasks(_TaskCommand, command.Lister):
    """List a bare-metal node's tasks, with the server tasks that deployed or undeployed it."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("node", metavar="<node>", help="Node (name or UUID)")
        return parser

    def take_action(self, args):
        tasks = self.client.baremetal("GET", f"/nodes/{args.node}/tasks").json()["tasks"]
        return LIST_COLUMNS, [_row(t) for t in tasks]
