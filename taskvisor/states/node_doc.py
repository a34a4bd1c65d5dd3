"""docs/node-states.md, generated from states/node.py:
``python -m taskvisor.states.node_doc > docs/node-states.md``."""
from __future__ import annotations

from taskvisor.states import diagram
from taskvisor.states import node as states

_INTRO = """# Bare-metal node states

Generated from `taskvisor/states/node.py` by `python -m taskvisor.states.node_doc`;
`taskvisor states node --format dot|mermaid` prints the diagram alone.

Ironic's provision state machine. Events named after API verbs come from
`PUT /baremetal/v1/nodes/{id}/states/provision`; `done`, `fail`, `wait`,
`hold` and `resume` are reported by the conductor's flows. Every verb starts
a task (the node's `task_id` is its lock; `reservation` names the conductor
running it). A verb from a state not listed answers 400 ("The requested
action … can not be performed on node … while it is in state …"), or 409
NodeLocked while a task holds the node.

Unlike Ironic, a conductor that dies mid-clean does not leave the node in
`clean failed`: each clean step is a task step, and the task resumes at the
step in flight. Reserved clean steps `hold` and `wait` run in manual
cleaning (Ironic 39 drops them). Power changes are refused in `cleaning`,
`clean wait` and `clean hold`.
"""


def markdown() -> str:
    rows = ["| target | event | allowed from | min. version |", "|---|---|---|---|"]
    for verb, event in states.VERBS.items():
        sources = ", ".join(states.verb_sources(verb))
        rows.append(f"| `{verb}` | {event} | {sources} | 1.{states.MIN_VERB_VERSION.get(verb, 1)} |")
    stable = ", ".join(states.STABLE_STATES)
    return "\n".join([_INTRO, "## Provision targets", "", *rows, "",
                      f"Stable states (a node rests there between tasks): {stable}.", "",
                      "## Diagram", "", "```mermaid", diagram.render("node", "mermaid"), "```", ""])


if __name__ == "__main__":
    print(markdown(), end="")
