"""The side-by-side table and the raw figures as JSON."""
from __future__ import annotations

import os


from ironic_bench.workload import API_VERSION, pct


def cpu_per_node(phase) -> float | None:
    """The servers' CPU over the phase (polls included) per node done: steadier than nodes/s on a loaded machine."""
    return 1000 * phase.cpu_s / len(phase.latencies) if phase.latencies else None


def report(results: dict[str, dict], args) -> None:
    tv, ir = results.get("taskvisor"), results.get("ironic")
    rows: list[tuple[str, float | None, float | None, str, str]] = []  # label, tv, ir, unit, better

    def add(label, get, unit, better="lower"):
        rows.append((label, get(tv) if tv else None, get(ir) if ir else None, unit, better))

    names = {"create": "create", "manage": "manage (enroll->manageable)",
             "provide": "provide (1 automated step)", "manage2": "manage (available->manageable)",
             "clean": "manual clean (4 steps)"}
    for key, label in names.items():
        add(f"{label} p50", lambda r, k=key: ms(pct(r["phases"][k].latencies, 50)), "ms")
        add(f"{label} p95", lambda r, k=key: ms(pct(r["phases"][k].latencies, 95)), "ms")
        if key != "create":
            add(f"{label} p50 by server stamp", lambda r, k=key: ms(pct(r["phases"][k].stamped, 50)), "ms")
            add(f"{label} p50 of the 202 answer", lambda r, k=key: ms(pct(r["phases"][k].accepted, 50)), "ms")
        add(f"{label} throughput", lambda r, k=key: r["phases"][k].rate, "nodes/s", "higher")
        add(f"{label} server CPU per node", lambda r, k=key: cpu_per_node(r["phases"][k]), "ms")
    add(f"GET /v1/nodes p50 ({args.nodes} nodes)", lambda r: ms(r["list"]["p50"]), "ms")
    add(f"GET /v1/nodes p95", lambda r: ms(r["list"]["p95"]), "ms")
    add(f"GET /v1/nodes/detail p50", lambda r: ms(r["detail"]["p50"]), "ms")
    add(f"GET /v1/nodes/detail p95", lambda r: ms(r["detail"]["p95"]), "ms")
    add("RSS idle", lambda r: r["rss_idle_mb"], "MB")
    add("RSS after the run", lambda r: r["rss_after_mb"], "MB")
    add("server CPU for the workload", lambda r: r["cpu_s"], "s")
    add("workload wall time", lambda r: r["workload_wall"], "s")
    add("failed operations", lambda r: sum(len(p.failures) + p.skipped for p in r["phases"].values()), "")
    add("409 NodeLocked retries", lambda r: sum(p.retries_409 for p in r["phases"].values()), "")
    add("dropped connections (retried)", lambda r: sum(p.transport_errors for p in r["phases"].values())
        + r["list"]["errors"] + r["detail"]["errors"], "")

    def cell(v):
        if v is None:
            return "-"
        return f"{v:.0f}" if isinstance(v, int) or abs(v) >= 1000 else f"{v:.2f}" if abs(v) < 100 else f"{v:.1f}"

    print()
    print(f"nodes {args.nodes}, client concurrency {args.concurrency}, API version {API_VERSION}, "
          f"{os.cpu_count()} CPUs")
    for r in (tv, ir):
        if r:
            print(f"{r['server']} {r['version']}: load average (1/5/15 min) {r['load_start']} at start, "
                  f"{r['load_end']} at end")
    print()
    w = max(len(r[0]) for r in rows) + 2
    print(f"{'metric':{w}s}{'taskvisor':>12s}{'Ironic':>12s}  {'unit':8s}{'taskvisor advantage':>20s}")
    print("-" * (w + 56))
    for label, a, b, unit, better in rows:
        ratio = "-"
        if a is not None and b is not None and a > 0 and b > 0:
            ratio = f"x{(b / a if better == 'lower' else a / b):.1f}"
        elif a == 0 and b == 0:
            ratio = "="
        print(f"{label:{w}s}{cell(a):>12s}{cell(b):>12s}  {unit:8s}{ratio:>20s}")
    if tv:
        provide = tv["phases"]["provide"].rate
        listing = tv["list"]["p50"] * 1000
        print()
        print(f"targets (issue 7): provide >= 30 nodes/s: {provide:.1f} "
              f"({'met' if provide >= 30 else 'NOT met'}); GET /v1/nodes p50 <= 10 ms: {listing:.1f} "
              f"({'met' if listing <= 10 else 'NOT met'})")
    print("anchors (DESIGN §8, Ironic 39.0.0): provide p50 215 ms, manual clean (4 steps) 354 ms, "
          "~3 nodes/s, GET /v1/nodes p50 78 ms, /detail 305 ms, 310 MB RSS idle")


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


def to_json(results: dict) -> dict:
    out = {}
    for name, r in results.items():
        out[name] = {**r, "phases": {k: {"ok": len(p.latencies), "failed": len(p.failures), "skipped": p.skipped,
                                         "wall_s": p.wall, "nodes_per_s": p.rate,
                                         "p50_ms": ms(pct(p.latencies, 50)), "p95_ms": ms(pct(p.latencies, 95)),
                                         "stamped_p50_ms": ms(pct(p.stamped, 50)),
                                         "accepted_p50_ms": ms(pct(p.accepted, 50)),
                                         "retries_409": p.retries_409, "polls": p.polls,
                                         "transport_errors": p.transport_errors,
                                         "cpu_ms_per_node": cpu_per_node(p),
                                         "cpu_root_s": p.cpu_root_s, "cpu_children_s": p.cpu_children_s,
                                         "failures": p.failures[:20]}
                                     for k, p in r["phases"].items()}}
    return out


# ---------------------------------------------------------------- main

