"""taskvisor: a compute control plane where every change is a durable task."""
