"""The pieces of benchmarks/vs_ironic.py: the two servers (``servers``), the
workload both get (``workload``) and the side-by-side report (``report``)."""
