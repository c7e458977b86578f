"""The framework ceiling: a bare Starlette endpoint answering small JSON, nothing else.

Served by bench/compare.py under uvicorn with the settings ``ots-server serve`` uses (same
uvicorn, same event loop and HTTP implementation, access log off, no server header, one
worker), so the gap between this and ots is what ots itself costs::

    python -m uvicorn --app-dir bench ceiling:app --no-access-log --no-server-header
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def small_json(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/json", small_json, methods=["GET"])])
