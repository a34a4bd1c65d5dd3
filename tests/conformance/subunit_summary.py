"""Summarise a subunit v2 stream as JSON (runs in the Tempest venv, which
has python-subunit and testtools): one record per test with its status, the
reason of a skip, the error's first line and the last failed HTTP request.

Usage: python subunit_summary.py < results.subunit > results.json
"""
import json
import re
import sys

import subunit
import testtools

# "Request (ServersTestJSON:test_x): 404 GET http://127.0.0.1:1234/compute/v2.1/os-keypairs 0.012s"
REQUEST = re.compile(r"Request \([^)]*\): (\d{3}) (\w+) (\S+)")


def text(details, name):
    value = details.get(name)
    return value.as_text() if value is not None else ""


def logging_of(details) -> str:
    """The captured log (detail "pythonlogging:''"), where tempest's rest client logs each request."""
    return "".join(text(details, name) for name in details if name.startswith("pythonlogging"))


def error_line(traceback: str) -> str:
    """The exception line (plus tempest's "Details:" line, which holds the API's answer)."""
    lines = [line for line in traceback.splitlines() if line.strip()]
    for i in range(len(lines) - 1, -1, -1):
        line = lines[i]
        if not line.startswith((" ", "\t", "Traceback", "During handling", "The above exception")) \
                and not line.startswith("Details:") and re.match(r"^[\w.]+(: |$)", line):
            rest = [x for x in lines[i + 1:i + 2] if x.startswith("Details:")]
            return " ".join([line, *rest])[:400]
    return (lines[-1] if lines else "")[:400]


def main() -> None:
    records = []

    def on_test(test):
        details = test["details"]
        status = test["status"]
        if status in ("exists", "inprogress"):
            return
        record = {"id": re.sub(r"\[.*\]$", "", test["id"]), "status": status}
        if status == "skip":
            record["reason"] = (text(details, "reason") or error_line(text(details, "traceback"))).strip()
        elif status in ("fail", "uxsuccess"):
            record["error"] = error_line(text(details, "traceback"))
            requests = [f"{code} {method} {re.sub(r'^https?://[^/]+', '', url)}"
                        for code, method, url in REQUEST.findall(logging_of(details))]
            if requests:
                record["requests"] = requests[-5:]  # the last few, oldest first
        records.append(record)

    stream = subunit.ByteStreamToStreamResult(sys.stdin.buffer, non_subunit_name="stdout")
    result = testtools.StreamToDict(on_test)
    result.startTestRun()
    try:
        stream.run(result)
    finally:
        result.stopTestRun()
    json.dump(records, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
