"""Choosing where a server goes: a compute host (``hosts``) or a bare-metal
node and the compute that answers for it (``nodes``). Flows call these
from their schedule steps."""
