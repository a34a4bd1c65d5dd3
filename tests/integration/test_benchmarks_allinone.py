"""The all-in-one benchmarks (SQLite, local bus) run at a small size and
print their figures."""
from __future__ import annotations

import re

from tests.integration.benchmark_runs import NUMBER, figure, run_benchmark


def test_boot_delete_every_task_succeeds_and_cpu_per_task_is_printed():
    out = run_benchmark("boot_delete.py", "--servers", "20")
    assert re.search(r"lifecycle tasks\s+40 \(0 not succeeded\)", out), out
    assert figure(out, rf"CPU per task\s+{NUMBER} ms") > 0
    assert figure(out, rf"throughput\s+{NUMBER} tasks/s") > 0
    assert re.search(rf"CPU ms per task by\s+API {NUMBER}, conductor\+compute {NUMBER}", out), out
    assert figure(out, rf"each page once {NUMBER} MB") > 0


def test_boot_delete_scale_prints_a_row_per_size():
    out = run_benchmark("boot_delete.py", "--scale", "10,30")
    rows = re.findall(rf"^\s+(10|30)\s+{NUMBER}\s+{NUMBER}\s", out, re.MULTILINE)
    assert [r[0] for r in rows] == ["10", "30"], out
    assert "not succeeded" in out and "FAILED" not in out, out


def test_list_detail_then_list_answers_from_its_rows(tmp_path):
    data = str(tmp_path / "lists")
    out = run_benchmark("list_detail.py", "--count", "40", "--samples", "3", "--data-dir", data)
    for name in ("servers/detail", "servers", "nodes/detail", "nodes"):
        assert re.search(rf"GET {re.escape(name)}\s+40 items\s+p50\s+{NUMBER} ms", out), (name, out)
    answers = run_benchmark("list_answers.py", data, "--seed")
    # (list_answers pages with a marker at the 21st server.) Each answer is asked twice; the second
    # comes from the fragment cache and must be the same bytes
    assert len(answers.splitlines()) > 50, answers
    assert "WARM-DIFFERS" not in answers, answers


def test_vs_ironic_taskvisor_side():
    out = run_benchmark("vs_ironic.py", "--skip-ironic", "--nodes", "8")
    for phase in ("create", "manage", "provide", "manage2", "clean"):
        assert re.search(rf"taskvisor {phase}\s+8 ok\s+0 failed", out), (phase, out)
    assert figure(out, rf"provide \(1 automated step\) throughput\s+{NUMBER}") > 0


def test_allinone_memory():
    out = run_benchmark("allinone_memory.py", "--runs", "1", "--settle", "1")
    assert figure(out, rf"PSS sum MB\s+median {NUMBER}") > 0
    assert figure(out, rf"each page once\s+median {NUMBER}") > 0


def test_request_and_api_cpu():
    out = run_benchmark("request_cpu.py", "--requests", "30")
    assert figure(out, rf"GET /compute/v2.1/servers/\{{id\}}\s+server CPU {NUMBER} ms/request") >= 0
    out = run_benchmark("api_cpu.py", "--servers", "5", "--gets", "10")
    assert figure(out, rf"GET\s+/compute/v2.1/tasks/\{{task_id\}}\s+{NUMBER} ms CPU/request") > 0
    out = run_benchmark("api_identity_overhead.py", "10")
    assert figure(out, rf"GET  /compute/v2.1/servers\s+{NUMBER} us/request wall") > 0


def test_idle_watchers_and_stop_overhead():
    out = run_benchmark("idle_watchers.py", "--watchers", "2", "--seconds", "2")
    assert figure(out, rf"2 watchers:\s+{NUMBER} % of one core") >= 0
    out = run_benchmark("stop_overhead.py", "2")
    assert figure(out, rf"our overhead\s+p50\s+{NUMBER} ms") >= 0
