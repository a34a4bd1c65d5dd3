"""JSON answers rendered directly with orjson.

A handler that returns a dict goes through FastAPI's ``jsonable_encoder``,
which walks every value in Python: for 1,000 servers it cost 70 ms against
under 1 ms for orjson. Hot handlers return ``JsonResponse`` instead; their
views already produce plain JSON types (strings for dates)."""
from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse


class JsonResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)
