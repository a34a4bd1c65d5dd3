"""Flows: an operation as an ordered list of steps.

A flow module reads top to bottom::

    flow = Flow("boot", version=1, action="create")

    @flow.step(task_state="scheduling")
    def schedule(ctx): ...

    @flow.step(task_state="spawning")
    def spawn(ctx): ...

    @spawn.revert
    def destroy_half_made_guest(ctx): ...

    @flow.on_failure
    def server_to_error(ctx, error): ...

Each step's ``execute(ctx)`` may return a dict of details shown in the
task's step record. Steps run again after a crash (the one in flight when the
conductor died is repeated), so every step is idempotent or checks before it
acts. A step's ``revert`` runs when a later step (or the step itself) fails
for good; ``on_failure`` then leaves the resource in a state a user can act on.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

StepFn = Callable[[Any], "dict | None"]


@dataclass
class Step:
    name: str
    execute: StepFn
    revert_fn: StepFn | None = None
    task_state: str | None = None
    retries: int | None = None  # None = [conductor] step_retries
    deadline: float | None = None  # seconds; None = [conductor] step_deadline
    # The task may be cancelled while this step is current: it stops after
    # the step and reverts (a queued task can always be cancelled).
    cancellable: bool = False

    def revert(self, fn: StepFn) -> StepFn:
        self.revert_fn = fn
        return fn

    def __call__(self, ctx: Any) -> "dict | None":
        return self.execute(ctx)


@dataclass
class Flow:
    name: str
    version: int
    action: str
    resource_type: str = "server"
    steps: list[Step] = field(default_factory=list)
    failure_fn: Callable[[Any, dict], None] | None = None
    success_fn: Callable[[Any], None] | None = None
    # Builds the steps of one task from its row (a node's clean steps come
    # from the request); None = the steps declared with @flow.step.
    expand_fn: Callable[[dict], list[Step]] | None = None
    deadline: float | None = None  # seconds from the task's first start; None = [conductor] task_deadline
    # False: the flow's tasks act beside their resource's owner without taking
    # it over (a reconciler's clean-up of a stray guest); they never write it.
    owns_resource: bool = True
    # Rolling upgrades: definitions of earlier versions that may still have
    # tasks in flight (kept whole), or, for an earlier version whose steps
    # were only renamed, old step name -> new. A task resumes on the version
    # it started with (Flows.for_task).
    older: dict[int, "Flow"] = field(default_factory=dict)
    renamed_steps: dict[int, dict[str, str]] = field(default_factory=dict)

    def step(self, fn: StepFn | None = None, *, task_state: str | None = None,
             retries: int | None = None, name: str | None = None, deadline: float | None = None,
             cancellable: bool = False):
        def register(f: StepFn) -> Step:
            s = Step(name or f.__name__, f, task_state=task_state, retries=retries, deadline=deadline,
                     cancellable=cancellable)
            if any(existing.name == s.name for existing in self.steps):
                raise ValueError(f"flow {self.name}: duplicate step {s.name}")
            self.steps.append(s)
            return s
        return register(fn) if fn is not None else register

    def on_failure(self, fn: Callable[[Any, dict], None]) -> Callable[[Any, dict], None]:
        self.failure_fn = fn
        return fn

    def on_success(self, fn: Callable[[Any], None]) -> Callable[[Any], None]:
        self.success_fn = fn
        return fn

    def expand(self, fn: Callable[[dict], list[Step]]) -> Callable[[dict], list[Step]]:
        self.expand_fn = fn
        return fn

    def for_task(self, task: dict) -> "Flow":
        """The flow as this task runs it. Its steps must follow from the task
        row alone, so a resumed task sees the same list."""
        if self.expand_fn is None:
            return self
        return replace(self, steps=self.expand_fn(task))

    @property
    def step_names(self) -> list[str]:
        return [s.name for s in self.steps]


class Flows:
    """The flows an engine can run, by name. Whoever starts a conductor or
    an API hands it one (``taskvisor.flows.FLOWS``); the engine itself knows
    no flow, so it never imports the application that defines them."""

    def __init__(self, *flows: Flow, error_states: dict[str, dict] | None = None):
        # What a resource becomes when its task is dead-lettered and the
        # flow's own on_failure handler could not run (it raised).
        self.error_states = dict(error_states or {})
        self._by_name: dict[str, Flow] = {}
        for flow in flows:
            if flow.name in self._by_name:
                raise ValueError(f"flow {flow.name} registered twice")
            self._by_name[flow.name] = flow

    def get(self, name: str) -> Flow:
        """The flow called ``name``; KeyError when there is none."""
        return self._by_name[name]

    def for_task(self, task: dict) -> tuple[Flow, dict[str, str]]:
        """The definition a task runs on, and the step renames to apply to
        its recorded steps: its own version, kept (``Flow.older``) or mapped
        (``Flow.renamed_steps``). KeyError when neither is known."""
        newest = self.get(task["flow"])
        version = task["flow_version"]
        if version == newest.version:
            return newest.for_task(task), {}
        if version in newest.older:
            return newest.older[version].for_task(task), {}
        if version in newest.renamed_steps:
            return newest.for_task(task), dict(newest.renamed_steps[version])
        raise KeyError(f"{task['flow']} v{version}")

    def error_state(self, resource_type: str) -> dict:
        return dict(self.error_states.get(resource_type, {}))

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self):
        return iter(self._by_name.values())


class StepFailed(Exception):
    """A step's failure with an error code for the task (e.g. 500, 409)."""

    def __init__(self, message: str, code: int = 500):
        super().__init__(message)
        self.code = code


class Superseded(Exception):
    """The resource now belongs to a newer task (e.g. a delete): stop here."""


class Fenced(Exception):
    """This conductor's lease on the task moved on: it must not write again."""
