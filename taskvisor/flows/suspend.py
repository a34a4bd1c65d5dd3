"""Suspend and resume: the guest's memory is saved to disk and restored."""
from __future__ import annotations

from taskvisor.flows.pause import simple_flow

suspend = simple_flow("suspend", "suspending")
resume = simple_flow("resume", "resuming")
