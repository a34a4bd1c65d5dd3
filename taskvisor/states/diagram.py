"""State diagrams (Graphviz dot, Mermaid) of any registered state machine.

A machine module plugs in by exposing ``build_machine()`` (an automaton
``FiniteMachine`` with ``default_start_state`` set) and, optionally,
``stable(state) -> bool`` (stable states are drawn bold) and ``TITLE``; then
it is named in ``MACHINES``.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable

from automaton import machines

MACHINES = {"server": "taskvisor.states.server", "node": "taskvisor.states.node"}


def load(name: str) -> tuple[machines.FiniteMachine, Callable[[str], bool]]:
    try:
        module = importlib.import_module(MACHINES[name])
    except KeyError:
        raise ValueError(f"unknown state machine {name!r}; known: {', '.join(sorted(MACHINES))}") from None
    return module.build_machine(), getattr(module, "stable", lambda _state: False)


def render(machine: str | machines.FiniteMachine, fmt: str = "mermaid",
           stable: Callable[[str], bool] | None = None) -> str:
    if isinstance(machine, str):
        machine, module_stable = load(machine)
        stable = stable or module_stable
    stable = stable or (lambda _state: False)
    edges = sorted(machine)  # (start, event, end)
    states = sorted(machine.states)
    start = machine.default_start_state
    terminal = {s for s in states if _terminal(machine, s)}
    if fmt == "dot":
        return _dot(states, edges, start, terminal, stable)
    if fmt == "mermaid":
        return _mermaid(states, edges, start, terminal, stable)
    raise ValueError(f"unknown diagram format {fmt!r}; use dot or mermaid")


def _terminal(machine: machines.FiniteMachine, state: str) -> bool:
    return bool(machine._states[state]["terminal"])  # automaton keeps no public accessor


def _dot(states, edges, start, terminal, stable) -> str:
    lines = ["digraph states {", "  rankdir=LR;", '  node [shape=box, style=rounded, fontname="Helvetica"];',
             '  "__start__" [shape=point];', f'  "__start__" -> "{start}";']
    for state in states:
        attrs = ["style=\"rounded,bold\""] if stable(state) else []
        if state in terminal:
            attrs = ["shape=doublecircle"]
        lines.append(f'  "{state}"' + (f" [{', '.join(attrs)}]" if attrs else "") + ";")
    for src, event, dst in edges:
        lines.append(f'  "{src}" -> "{dst}" [label="{event}"];')
    lines.append("}")
    return "\n".join(lines)


def _mermaid(states, edges, start, terminal, stable) -> str:
    ids = {state: f"s{i}" for i, state in enumerate(states)}
    lines = ["stateDiagram-v2"]
    for state in states:
        lines.append(f'    state "{state}" as {ids[state]}')
    lines.append(f"    [*] --> {ids[start]}")
    for src, event, dst in edges:
        lines.append(f"    {ids[src]} --> {ids[dst]}: {event}")
    for state in sorted(terminal):
        lines.append(f"    {ids[state]} --> [*]")
    stable_ids = [ids[s] for s in states if stable(s)]
    if stable_ids:
        lines.append("    classDef stable font-weight:bold,stroke-width:2px")
        lines.append(f"    class {','.join(stable_ids)} stable")
    return "\n".join(lines)
