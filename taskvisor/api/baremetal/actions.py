"""Node actions, each a durable task: provision verbs, power, maintenance;
and what a node is doing: its states, its clean steps, its tasks.

A node task starts with one compare-and-swap: the node is in a state the
verb is allowed from and no task owns it (``task_id`` is the node's lock;
Ironic answers 409 NodeLocked while it is held). Every 202 names its task
in ``X-Taskvisor-Task``.
"""
from __future__ import annotations

import time
from functools import lru_cache

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import bindparam, update

from taskvisor.api import openapi
from taskvisor.api.baremetal import deploy_templates, runbooks, views
from taskvisor.api.baremetal.drivers import clean_steps_of
from taskvisor.api.baremetal.nodes import authorize_node, base_url, load_node, minor, node_locked, protected_error
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.policy import allowed
from taskvisor.api.errors import ApiError, BadRequest, NotFound
from taskvisor.api.task_start import TASK_HEADER, start_task
from taskvisor.api.tasks_list import node_related_ids
from taskvisor.api.tasks_view import load_steps, load_task, load_tasks, render_task
from taskvisor.api.validation import json_body
from taskvisor.baremetal import steps as clean_steps
from taskvisor.baremetal.interfaces import POWER_RESULT, POWER_TARGETS, SOFT_POWER_OFF, SOFT_REBOOT
from taskvisor.db.models import nodes, tasks
from taskvisor.db.session import utcnow
from taskvisor.states import node as states
from taskvisor.tasks.store import ACTIVE

router = APIRouter(prefix="/baremetal")  # the full prefix, so flat_routes.flatten() can lift these routes
NOT_ACCEPTABLE = "Request not acceptable."


def _show_host(ctx: RequestContext, task: dict) -> bool:
    return allowed(ctx, "taskvisor:task:show:host", {"project_id": task["project_id"], "user_id": task["user_id"]})


def task_url(request: Request, node_id: str, task_id: str) -> str:
    return f"{base_url(request)}/v1/nodes/{node_id}/tasks/{task_id}"


def invalid_state(action: str, node_id: str, state) -> BadRequest:
    return BadRequest(f'The requested action "{action}" can not be performed on node "{node_id}" while it is '
                      f'in state "{state}".')


@lru_cache(maxsize=128)
def _cas_statement(sources: tuple[str, ...] | None, exclude: tuple[str, ...], columns: frozenset):
    """start_node_task's compare-and-swap, built once per shape (states and
    columns): SQLAlchemy then reuses its compiled form."""
    query = update(nodes).where(nodes.c.id == bindparam("p_id"), nodes.c.task_id.is_(None))
    if sources is not None:
        query = query.where(nodes.c.provision_state.in_(sources))
    if exclude:
        query = query.where(nodes.c.provision_state.not_in(exclude))
    return query.values({c: bindparam(f"v_{c}", type_=nodes.c[c].type) for c in sorted(columns)})


def start_node_task(request: Request, ctx: RequestContext, node: dict, *, action: str, flow: str,
                    sources: tuple[str, ...] | None, values: dict, params: dict | None = None,
                    exclude: tuple[str, ...] = ()) -> Response:
    """Hand the node to a new task (CAS) and answer 202 with its URL."""
    def cas(task_id: str):
        fields = {"task_id": task_id, "updated_at": utcnow(), **values}
        return (_cas_statement(sources, tuple(exclude), frozenset(fields)),
                {"p_id": node["id"], **{f"v_{k}": v for k, v in fields.items()}})

    held = []

    def conflict(conn):
        # The node was fit for the action when read and changed before the
        # compare-and-swap: another request won the race. That is a 409 on
        # every database (a 400 would blame the request, which was valid).
        current = load_node(conn, node["id"], ctx)
        held.append(current["task_id"] is not None)
        if current["task_id"] is not None or current["provision_state"] != node["provision_state"]:
            raise node_locked(request, current)
        raise invalid_state(action, node["id"], current["provision_state"])

    # As Ironic's conductor does, a node another task holds is asked for again
    # a few times before the answer is 409 locked: a client that saw a task's
    # effect may act while that task is still finishing.
    conf = request.app.state.tv.conf.conductor
    tries = max(1, int(conf.node_locked_retry_attempts))
    for attempt in range(1, tries + 1):
        try:
            task = start_task(request, ctx, resource_type="node", resource_id=node["id"], action=action, flow=flow,
                              params=params, cas=cas, on_conflict=conflict)
            break
        except ApiError:
            if not (held and held[-1]) or attempt == tries:
                raise
            time.sleep(float(conf.node_locked_retry_interval))
    url = task_url(request, node["id"], task["id"])
    return Response(status_code=202, headers={TASK_HEADER: url,
                                              "Location": f"{base_url(request)}/v1/nodes/{node['id']}/states"})


def _provision_values(node: dict, event: str, target_override: str | None = None) -> dict:
    new_state = states.next_state(node["provision_state"], event)
    values = {"provision_state": new_state, "provision_updated_at": utcnow(), "last_error": None,
              "target_provision_state": target_override or states.TARGETS.get(new_state)}
    return values


def _automated_plan(request: Request, node: dict, known: list[dict] | None = None) -> list[dict]:
    """Steps automated cleaning runs for this node ([] when it is off);
    ``known``: the node's driver steps, when the caller read them already."""
    if known is None:
        with request.app.state.tv.db.read() as conn:
            known = clean_steps_of(conn, node["driver"], node)
    try:
        return clean_steps.automated_plan(known, node, request.app.state.tv.conf)
    except ValueError as exc:
        raise ApiError(500, str(exc)) from None


@router.put("/v1/nodes/{ident}/states/provision", status_code=202, openapi_extra=openapi.body({
    "type": "object", "required": ["target"], "properties": {
        "target": {"enum": sorted(states.VERBS)}, "clean_steps": {"type": "array", "items": {"type": "object"}},
        "runbook": {"type": ["string", "null"]}}}))
def set_provision_state(ident: str, request: Request, ctx: RequestContext = Depends(get_context), body=Depends(json_body)):
    if not isinstance(body, dict) or not isinstance(body.get("target"), str):
        raise BadRequest("Invalid input for field/attribute target. Value: None. Wrong type. Expected 'str'")
    target, user_steps = body["target"], body.get("clean_steps")
    if user_steps is not None and not isinstance(user_steps, list):
        raise BadRequest(f"Invalid input for field/attribute clean_steps. Value: {user_steps!r}. "
                         "Wrong type. Expected 'list'")
    # rebuild is not served, but a protected node refuses it first, as in Ironic
    if target not in states.VERBS and target != "rebuild":
        raise BadRequest(f'The requested action "{target}" could not be understood.')
    if minor(ctx) < states.MIN_VERB_VERSION.get(target, 0):
        raise ApiError(406, NOT_ACCEPTABLE)
    with request.app.state.tv.db.read() as conn:
        node = load_node(conn, ident, ctx)
        authorize_node(ctx, "baremetal:node:set_provision_state", node, ident)
        # the driver's clean steps, read with the node (one read transaction, not two): a clean's
        # and a provide's plan are made of them
        known = clean_steps_of(conn, node["driver"], node) if target in ("clean", "provide") else None
    if target in ("deleted", "undeploy", "rebuild") and node["protected"]:
        raise protected_error(node)
    if target == "rebuild":
        raise BadRequest('The requested action "rebuild" could not be understood.')
    state, locked = node["provision_state"], node["task_id"] is not None
    if target in ("active", "deploy") and node["maintenance"]:
        raise BadRequest(f"The provisioning operation can't be performed on node {node['id']} because it's in "
                         "maintenance mode.")
    if not states.allowed(state, target):
        if locked:
            raise node_locked(request, node)
        raise invalid_state(target, node["id"], state)
    runbook = None
    if body.get("runbook") is not None:  # a runbook's steps as the clean steps (1.92)
        if minor(ctx) < runbooks.SINCE:
            raise ApiError(406, NOT_ACCEPTABLE)
        with request.app.state.tv.db.read() as conn:
            runbook, user_steps = runbooks.steps_for_node(conn, ctx, body["runbook"], node, target, user_steps)
    if user_steps and target != "clean":
        raise BadRequest('"clean_steps" is only valid when setting target provision state to clean')
    event = states.VERBS[target]
    if event == "abort":
        return _abort(request, ctx, node)
    if event == "clean":
        if not user_steps:
            raise BadRequest('"clean_steps" is required when setting target provision state to clean')
        try:
            planned = clean_steps.validate_user_steps(known, user_steps)
        except clean_steps.InvalidSteps as exc:
            raise BadRequest(str(exc)) from None
        return _clean(request, ctx, node, "clean", planned, states.MANAGEABLE, manual=True,
                      runbook=runbook and runbook["uuid"])
    if event == "provide":
        return _clean(request, ctx, node, "provide", _automated_plan(request, node, known), states.AVAILABLE,
                      manual=False)
    if event == "unhold":
        internal = node["driver_internal_info"] or {}
        planned = internal.get("clean_steps") or []
        start = int(internal.get("clean_step_index", -1)) + 1
        return start_node_task(request, ctx, node, action="unhold", flow="node_clean", sources=(state,),
                               values={**_provision_values(node, event, node["target_provision_state"])},
                               params={"steps": planned, "start": start,
                                       "target": node["target_provision_state"] or states.AVAILABLE})
    if event == "delete":
        planned = _automated_plan(request, node)
        return start_node_task(request, ctx, node, action="undeploy", flow="node_undeploy", sources=(state,),
                               values={**_provision_values(node, event), "clean_step": {},
                                       "driver_internal_info": clean_steps.with_plan(
                                           node["driver_internal_info"], planned, manual=False)},
                               params={"steps": planned, "start": 0, "target": states.AVAILABLE})
    if event == "deploy":
        with request.app.state.tv.db.read() as conn:  # the deploy templates' steps join the task's plan
            planned = deploy_templates.deploy_plan(conn, node, clean_steps_of(conn, node["driver"]))
        return start_node_task(request, ctx, node, action="deploy", flow="node_deploy", sources=(state,),
                               values=_provision_values(node, event), params={"steps": planned})
    if event == "inspect":
        return start_node_task(request, ctx, node, action="inspect", flow="node_inspect", sources=(state,),
                               values=_provision_values(node, event))
    # manage
    return start_node_task(request, ctx, node, action="manage", flow="node_manage", sources=(state,),
                           values=_provision_values(node, event), params={"source": state})


def _clean(request, ctx, node, action: str, planned: list[dict], target: str, manual: bool,
           runbook: str | None = None) -> Response:
    values = {**_provision_values(node, states.VERBS[action], target), "clean_step": {},
              "driver_internal_info": clean_steps.with_plan(node["driver_internal_info"], planned, manual)}
    params = {"steps": planned, "start": 0, "target": target, **({"runbook": runbook} if runbook else {})}
    return start_node_task(request, ctx, node, action=action, flow="node_clean", sources=(node["provision_state"],),
                           values=values, params=params)


def _abort(request: Request, ctx: RequestContext, node: dict) -> Response:
    """In clean hold (no task runs): a task moves the node to clean failed.
    While a clean task runs (clean wait): ask it to stop; an abortable step
    stops at once, any other after it finishes."""
    if node["task_id"] is None:
        return start_node_task(request, ctx, node, action="abort", flow="node_abort", sources=(states.CLEANHOLD,),
                               values={"provision_updated_at": utcnow()})
    with request.app.state.tv.db.write() as conn:
        asked = conn.execute(update(tasks).where(tasks.c.id == node["task_id"], tasks.c.status.in_(ACTIVE))
                             .values(cancel_requested=True)).rowcount
    if not asked:
        raise node_locked(request, node)
    return Response(status_code=202, headers={TASK_HEADER: task_url(request, node["id"], node["task_id"]),
                                              "Location": f"{base_url(request)}/v1/nodes/{node['id']}/states"})


@router.put("/v1/nodes/{ident}/states/power", status_code=202, openapi_extra=openapi.body({
    "type": "object", "required": ["target"], "properties": {
        "target": {"enum": sorted(POWER_TARGETS)}, "timeout": {"type": ["integer", "null"], "minimum": 1}}}))
def set_power_state(ident: str, request: Request, ctx: RequestContext = Depends(get_context), body=Depends(json_body)):
    if not isinstance(body, dict) or not isinstance(body.get("target"), str):
        raise BadRequest("Invalid input for field/attribute target. Value: None. Wrong type. Expected 'str'")
    target, timeout = body["target"], body.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int)):
        raise BadRequest(f"Invalid input for field/attribute timeout. Value: {timeout!r}. Wrong type. "
                         "Expected 'int'")
    if (target in (SOFT_REBOOT, SOFT_POWER_OFF) or timeout is not None) and minor(ctx) < 27:
        raise ApiError(406, NOT_ACCEPTABLE)
    if timeout is not None and timeout < 1:
        raise BadRequest("timeout has to be positive integer")
    with request.app.state.tv.db.read() as conn:
        node = load_node(conn, ident, ctx)
        authorize_node(ctx, "baremetal:node:set_power_state", node, ident)
    if target not in POWER_TARGETS:
        raise invalid_state(target, ident, node["power_state"])
    if node["provision_state"] in states.CLEANING_STATES:
        raise invalid_state(target, ident, node["provision_state"])
    return start_node_task(request, ctx, node, action="power", flow="node_power", sources=None,
                           exclude=states.CLEANING_STATES, values={"target_power_state": POWER_RESULT[target]},
                           params={"target": target, "timeout": timeout})


@router.put("/v1/nodes/{ident}/maintenance", status_code=202, openapi_extra=openapi.body({
    "type": "object", "properties": {"reason": {"type": ["string", "null"]}}}, required=False))
def set_maintenance(ident: str, request: Request, ctx: RequestContext = Depends(get_context),
                          reason: str | None = None, body=Depends(json_body)):
    if isinstance(body, dict) and body.get("reason") is not None:
        reason = body["reason"]
    if reason is not None and not isinstance(reason, str):
        raise BadRequest("Invalid input for field/attribute reason. Wrong type. Expected 'str'")
    return _maintenance(request, ctx, ident, True, reason)


@router.delete("/v1/nodes/{ident}/maintenance", status_code=202)
def unset_maintenance(ident: str, request: Request, ctx: RequestContext = Depends(get_context)):
    return _maintenance(request, ctx, ident, False, None)


def _maintenance(request, ctx, ident: str, on: bool, reason: str | None) -> Response:
    with request.app.state.tv.db.read() as conn:
        node = load_node(conn, ident, ctx)
        authorize_node(ctx, "baremetal:node:set_maintenance" if on else "baremetal:node:clear_maintenance", node, ident)
    # Ironic answers after its conductor saved the flag (a synchronous update_node
    # call): the flag is written with the task row, and the task records it.
    values = {"maintenance": on, "maintenance_reason": reason if on else None, **({} if on else {"fault": None})}
    return start_node_task(request, ctx, node, action="maintenance", flow="node_maintenance", sources=None,
                           values=values, params={"maintenance": on, "reason": reason})


@router.get("/v1/nodes/{ident}/states")
def get_states(ident: str, request: Request, ctx: RequestContext = Depends(get_context)):
    with request.app.state.tv.db.read() as conn:
        node = load_node(conn, ident, ctx)
        authorize_node(ctx, "baremetal:node:get_states", node, ident)
    return views.render_states(node, minor(ctx))


@router.get("/v1/nodes/{ident}/cleaning/steps")
def get_cleaning_steps(ident: str, request: Request, ctx: RequestContext = Depends(get_context)):
    """While cleaning (or held): the running list and where it is. Otherwise
    the steps automated cleaning would run, in execution order."""
    with request.app.state.tv.db.read() as conn:
        node = load_node(conn, ident, ctx)
        authorize_node(ctx, "baremetal:node:get_cleaning_steps", node, ident)
    internal = node["driver_internal_info"] or {}
    if node["provision_state"] in (*states.CLEANING_STATES, states.DELETING) and "clean_steps" in internal:
        return {"steps": internal["clean_steps"], "manual": bool(internal.get("manual_cleaning")),
                "current_step_index": internal.get("clean_step_index")}
    return {"steps": _automated_plan(request, node), "manual": False, "current_step_index": None}


@router.get("/v1/nodes/{ident}/tasks")
def list_node_tasks(ident: str, request: Request, ctx: RequestContext = Depends(get_context)):
    with request.app.state.tv.db.read() as conn:
        node = load_node(conn, ident, ctx, any_version=True)
        authorize_node(ctx, "baremetal:node:tasks:list", node, ident)
        rows = load_tasks(conn, node_related_ids(conn, node["id"]))
        steps = load_steps(conn, [t["id"] for t in rows])
    flows = request.app.state.tv.flows
    return {"tasks": [render_task(flows, t, steps[t["id"]], _show_host(ctx, t), task_url(request, node["id"], t["id"]))
                      for t in rows]}


@router.get("/v1/nodes/{ident}/tasks/{task_id}")
def show_node_task(ident: str, task_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    with request.app.state.tv.db.read() as conn:
        node = load_node(conn, ident, ctx, any_version=True)
        authorize_node(ctx, "baremetal:node:tasks:show", node, ident)
        task = load_task(conn, node_related_ids(conn, node["id"]), task_id)
        if task is None:
            raise NotFound(f"Task {task_id} could not be found.")
        steps = load_steps(conn, [task_id])[task_id]
    return {"task": render_task(request.app.state.tv.flows, task, steps, _show_host(ctx, task),
                                task_url(request, node["id"], task_id))}
