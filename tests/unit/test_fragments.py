"""api/fragments: a row read undecoded and decoded there is the row
SQLAlchemy gives, and a body joined from fragments is the bytes orjson
gives for the same dict."""
from __future__ import annotations

import datetime as dt

import orjson
from sqlalchemy import JSON, Boolean, Column, DateTime, Integer, MetaData, String, Table, insert, select

from taskvisor.api import fragments
from taskvisor.db.session import Database

META = MetaData()
THINGS = Table("things", META, Column("id", String(36), primary_key=True), Column("n", Integer),
               Column("flag", Boolean), Column("doc", JSON), Column("at", DateTime), Column("none", JSON))


def test_raw_rows_decode_to_what_sqlalchemy_reads(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/t.sqlite")
    META.create_all(db.writer)
    rows = [{"id": "a", "n": 1, "flag": True, "doc": {"b": [1, "x"], "a": None},
             "at": dt.datetime(2026, 12, 7, 1, 2, 3, 4),
             "none": None},
            {"id": "b", "n": None, "flag": False, "doc": {}, "at": None, "none": None}]
    with db.write() as conn:
        conn.execute(insert(THINGS), rows)
    raw = fragments.RawColumns(list(THINGS.c), db.reader.dialect)
    with db.read() as conn:
        expected = [dict(r) for r in conn.execute(select(THINGS).order_by(THINGS.c.id)).mappings()]
        read = [tuple(r) for r in conn.execute(select(*raw.exprs).order_by(THINGS.c.id)).all()]
    assert [raw.decode(r) for r in read] == expected
    assert all(hash(r) is not None for r in read)  # plain values: usable as a version
    assert read[0][raw.index["doc"]] == '{"b":[1,"x"],"a":null}'  # the stored text, not a dict
    db.writer.dispose()
    db.reader.dispose()


def test_joined_body_is_what_orjson_gives():
    items = [{"id": "1", "x": [1, 2]}, {"id": "2", "y": {"z": None}}]
    for rest in (None, {"next": "http://h/v1/nodes?limit=2&marker=2"},
                 {"servers_links": [{"rel": "next", "href": "http://h/x?a=1&b=ü"}]}):
        body = fragments.join("items", [fragments.dumps(i) for i in items], rest)
        assert body == orjson.dumps({"items": items, **(rest or {})}, option=orjson.OPT_NON_STR_KEYS)
    assert fragments.join("items", []) == b'{"items":[]}'
