"""taskvisor: a compute control plane where every change is a durable task."""
from importlib import metadata

try:
    __version__ = metadata.version("taskvisor")
except metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
