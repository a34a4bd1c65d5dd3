"""Big lists answered from each row's rendered JSON, cached per process.

A list of 1,000 servers or nodes spent most of its time building one dict
per row (the view), reading the rows into Python values (JSON and times
decoded) and serializing and freeing those dicts. When a row has not
changed since the last list, its JSON is the same bytes: a list of
unchanged rows joins those bytes and builds no dict.

What makes a cached fragment always right: its version is the row itself,
as the database driver returned it in this request's query (the JSON
columns as their text, times as stored), plus whatever else the view
depends on for that row (tags, policy decisions, ...), compared for
equality on every hit. Anything about the request that the view reads (the
microversion, the base URL, the fields) is in the cache key. So there is no
invalidation to forget: a write that changes any column read gives another
version, by whatever path it was made (API, engine, raw SQL), and the next
list renders that row afresh. The cache is per process and bounded (least
recently used entries go first); a version is kept per (key, row id), so
old versions of a row do not pile up.
"""
from __future__ import annotations

import functools
import threading
from collections import OrderedDict

import orjson
from sqlalchemy import JSON, Text, cast, type_coerce
from starlette.responses import JSONResponse

# entries per cache (about 3 KB each with their versions: ≈ 6 MB full): a
# list page is at most [api] max_limit (1,000) rows, so this holds a full page
# at two microversions or for two kinds of caller
CAPACITY = 2048


class RawColumns:
    """``columns`` selected so that the driver's values are plain, hashable
    and undecoded (JSON as text, on SQLite times as text too), with what
    turns one such row into the values SQLAlchemy itself would have given
    (the same result processors, the engine's JSON decoder)."""

    def __init__(self, columns, dialect):
        self.names = tuple(c.name for c in columns)
        self.index = {name: i for i, name in enumerate(self.names)}
        self.exprs = []
        self._decoders: list[tuple[int, object]] = []
        for i, col in enumerate(columns):
            impl = col.type.dialect_impl(dialect)
            if isinstance(col.type, JSON) and dialect.name != "sqlite":
                # PostgreSQL's driver decodes json itself: read the text, decode it as the engine does
                self.exprs.append(cast(col, Text).label(col.name))
                self._decoders.append((i, _json_decoder(dialect)))
                continue
            process = impl.result_processor(dialect, None)
            if process is None:
                self.exprs.append(col)
            else:  # the same processor SQLAlchemy would run, run by decode() on a miss only
                self.exprs.append(type_coerce(col, Text).label(col.name))
                self._decoders.append((i, process))

    def conductor_inputs(self, raw) -> dict:
        """What drivers.node_conductor reads of a node row (plain strings, not decoded)."""
        index = self.index
        return {name: raw[index[name]] for name in ("id", "reservation", "conductor_group", "driver")}

    def decode(self, raw) -> dict:
        values = list(raw)
        for i, process in self._decoders:
            if values[i] is not None:
                values[i] = process(values[i])
        return dict(zip(self.names, values))


@functools.lru_cache(maxsize=64)  # per table, column list (nodes: one per ``fields=``) and engine
def raw_columns(table, names: tuple[str, ...], dialect) -> RawColumns:
    return RawColumns([table.c[name] for name in names], dialect)


def _json_decoder(dialect):
    loads = getattr(dialect, "_json_deserializer", None) or orjson.loads
    return loads


class FragmentCache:
    """(key, row id) -> (version, JSON bytes), least recently used out first."""

    def __init__(self, capacity: int = CAPACITY):
        self.capacity = capacity
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()  # list handlers run in FastAPI's thread pool

    def __len__(self) -> int:
        return len(self._entries)

    def get_many(self, keys: list, versions: list) -> list[bytes | None]:
        """The fragment of each key whose cached version equals the one given."""
        out: list[bytes | None] = []
        entries = self._entries
        with self._lock:
            for key, version in zip(keys, versions):
                entry = entries.get(key)
                if entry is not None and entry[0] == version:
                    entries.move_to_end(key)
                    out.append(entry[1])
                else:
                    out.append(None)
        return out

    def put_many(self, items: list[tuple]) -> None:
        """``items``: (key, version, fragment)."""
        entries = self._entries
        with self._lock:
            for key, version, fragment in items:
                entries[key] = (version, fragment)
                entries.move_to_end(key)
            while len(entries) > self.capacity:
                entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def dumps(value) -> bytes:
    """A fragment, encoded as responses.JsonResponse encodes the whole answer."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def join(name: str, fragments: list[bytes], rest: dict | None = None) -> bytes:
    """``{"<name>": [fragments...], **rest}`` as orjson would encode the
    same dict (compact, keys in order)."""
    parts = [b'{"', name.encode(), b'":[', b",".join(fragments), b"]"]
    for key, value in (rest or {}).items():
        parts += [b",", dumps(key), b":", dumps(value)]
    parts.append(b"}")
    return b"".join(parts)


class JsonBytes(JSONResponse):
    """An answer whose JSON body is already encoded."""

    def render(self, content: bytes) -> bytes:
        return content
