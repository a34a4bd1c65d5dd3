"""HTML for the console: small functions, every value escaped."""
from __future__ import annotations

import datetime as dt
from html import escape

TERMINAL = ("succeeded", "failed", "reverted", "cancelled")


def e(value) -> str:
    return escape("" if value is None else str(value))


def _t(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value.rstrip("Z")) if value else None


def page(title: str, body: str, *, watch: str | None = None, fragment_base: str = "", since: str = "") -> str:
    data = f' data-watch="{e(watch)}" data-fragments="{e(fragment_base)}" data-since="{e(since)}"' if watch else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)} · taskvisor</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/console/static/console.css"></head>
<body{data}>
<header><a href="/" class="brand">taskvisor</a>
<nav><a href="/">Running now</a> <a href="/console/servers">Servers</a> <a href="/console/nodes">Nodes</a>
<a href="/console/tasks?status=failed,reverted">Failed tasks</a>
<a href="/console/tasks?status=failed&amp;reason=runner-crashed,too-many-takeovers,deadline-exceeded,step-deadline-exceeded">Dead letters</a>
<a href="/console/tasks">All tasks</a> <a href="/console/logout" class="logout">Log out</a></nav>
<span id="live" class="live" hidden>live</span></header>
<main><h1>{e(title)}</h1>
{body}</main>
<script src="/console/static/console.js" defer></script>
</body></html>"""


def table(headers: list[str], rows: list[list[str]], empty: str, css: str = "") -> str:
    if not rows:
        return f'<p class="empty">{e(empty)}</p>'
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def badge(status: str | None) -> str:
    return f'<span class="badge s-{e((status or "none").lower())}">{e(status)}</span>'


def step_label(step: dict) -> str:
    """What an operator wants on a bar: host, seconds, shutdown path, retries."""
    parts = []
    if step.get("host"):
        parts.append(f"on {step['host']}")
    started, finished = _t(step.get("started_at")), _t(step.get("finished_at"))
    if started and finished:
        parts.append(f"{(finished - started).total_seconds():.2f}s")
    details = step.get("details") or {}
    if details.get("shutdown"):
        parts.append(f"{details['shutdown']} shutdown in {details.get('seconds', '?')}s")
    if details.get("retries"):
        parts.append(f"{details['retries']} retries")
    if step.get("attempt", 0) > 1:
        parts.append(f"attempt {step['attempt']}")
    return " · ".join(str(p) for p in parts)


def timeline(task: dict, now: dt.datetime) -> str:
    """One task: a header line and each step a bar on the task's time axis."""
    start = _t(task["created_at"])
    end = _t(task["finished_at"]) or now
    span = max((end - start).total_seconds(), 0.001)
    bars = []
    for step in task["steps"]:
        s_start = _t(step.get("started_at"))
        if s_start is None:
            left, width = 100.0, 0.0
        else:
            s_end = _t(step.get("finished_at")) or now
            left = max(0.0, min(100.0, (s_start - start).total_seconds() / span * 100))
            width = max(0.8, min(100.0 - left, (s_end - s_start).total_seconds() / span * 100))
        error = f'<div class="step-error">{e(step["error"])}</div>' if step.get("error") else ""
        bars.append(
            f'<li class="step st-{e(step["status"])}" data-step="{e(step["name"])}" data-status="{e(step["status"])}">'
            f'<span class="step-name">{e(step["index"] + 1)}. {e(step["name"])}</span>'
            f'<span class="track"><span class="bar" style="left:{left:.2f}%;width:{width:.2f}%"></span></span>'
            f'<span class="step-label">{badge(step["status"])} {e(step_label(step))}</span>{error}</li>')
    error = task.get("error") or {}
    error_html = f'<p class="task-error">Error: {e(error.get("message"))}</p>' if error.get("message") else ""
    takeovers = f' · {e(task["takeovers"])} takeover(s)' if task.get("takeovers") else ""
    owner = f' · conductor {e(task["owner"])}' if task.get("owner") else ""
    return (f'<section class="task" id="task-{e(task["id"])}" data-task="{e(task["id"])}" '
            f'data-status="{e(task["status"])}">'
            f'<h3>{e(task["action"])} {badge(task["status"])} <small>{e(task["progress"])}% · '
            f'{e(task["created_at"])}{owner}{takeovers} · <code>{e(task["id"])}</code></small></h3>'
            f'{error_html}<ol class="timeline">{"".join(bars)}</ol></section>')


def task_row(task: dict) -> list[str]:
    kind = "servers" if task["resource_type"] == "server" else "nodes"
    return [f'<a href="/console/{kind}/{e(task["resource_id"])}#task-{e(task["id"])}">{e(task["action"])}</a>',
            badge(task["status"]), e(task["resource_type"]), f"<code>{e(task['resource_id'])}</code>",
            e(task["current_step"] or ""), e(task.get("owner") or ""), e(task["created_at"]),
            e((task.get("error") or {}).get("message") or "")]


TASK_HEADERS = ["Action", "Status", "Type", "Resource", "Current step", "Conductor", "Created", "Error"]
