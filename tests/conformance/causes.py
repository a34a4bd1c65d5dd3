"""Group the failures of a `scripts/tempest --keep DIR` run by first cause.

    python -m tests.conformance.causes DIR/results.json [--list FILE]

prints each cause with its count (most frequent first); --list writes one
line per failed test: "<test id> | <cause>" (the baseline lists that other
work streams read). The cause is the last failed HTTP request (method and
path, ids replaced by {id}) with its status, else the error's first line.
"""
from __future__ import annotations

import argparse
import collections
import json
import re
import sys

UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.I)


def normalise(path: str) -> str:
    """The route of a request path: ids as {id}, any query as ?…"""
    route = re.sub(r"/\d+(?=/|$)", "/{id}", UUID.sub("{id}", path.split("?", 1)[0]))
    return route + ("?…" if "?" in path else "")


# tempest.lib.exceptions raised for an HTTP status
STATUS = {"BadRequest": "400", "Unauthorized": "401", "Forbidden": "403", "NotFound": "404", "Conflict": "409",
          "Gone": "410", "UnprocessableEntity": "422", "ServerFault": "500", "NotImplemented": "501",
          "UnexpectedResponseCode": "", "NotAcceptable": "406", "RateLimitExceeded": "413"}


def cause(record: dict) -> str:
    """The failed request behind an HTTP error (its status, method, path), else the
    error's text and the last request before it."""
    error = record.get("error", "")
    kind = error.split(":", 1)[0].rsplit(".", 1)[-1]
    requests = record.get("requests", [])
    if kind in STATUS:
        failed = [r for r in requests if r.startswith(STATUS[kind]) and int(r[:3]) >= 400] if STATUS[kind] \
            else [r for r in requests if int(r[:3]) >= 300]
        if failed:
            code, method, path = failed[-1].split(" ", 2)
            return f"{code} {method} {normalise(path)} ({kind})"
    text = re.sub(r"http://127\.0\.0\.1:\d+", "", UUID.sub("{id}", error))
    text = re.sub(r" at 0x[0-9a-f]+", "", text)[:200]
    if requests:
        code, method, path = requests[-1].split(" ", 2)
        text += f"  [after {code} {method} {normalise(path)}]"
    return text


def failures(records: list[dict]) -> list[dict]:
    return [r for r in records if r["status"] not in ("success", "xfail", "skip")]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("results")
    p.add_argument("--list", help="write '<test id> | <cause>' lines here")
    args = p.parse_args(argv)
    records = json.load(open(args.results))
    failed = sorted(failures(records), key=lambda r: r["id"])
    counts = collections.Counter(cause(r) for r in failed)
    for text, count in counts.most_common():
        print(f"{count:4d}  {text}")
    if args.list:
        with open(args.list, "w") as out:
            for r in failed:
                out.write(f"{r['id']} | {cause(r)} | {r.get('error', '')[:300]}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
