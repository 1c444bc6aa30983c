"""A bare FastAPI endpoint on the web process's stack (FastAPI, uvicorn, the same signature check while the
body streams in), answering 202 without Redis or parsing: the baseline of the webhook's throughput.

    python -m benchmarks.bare_endpoint PORT        (the secret in SUPERBILL_WEBHOOK_SECRET)
"""

from __future__ import annotations

import os
import sys
import time

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from pipeline.domain.signature import SignatureCheck

SECRET = os.environ.get("SUPERBILL_WEBHOOK_SECRET", "")
app = FastAPI()


@app.post("/v1/events")
async def post_event(request: Request) -> JSONResponse:
    check = SignatureCheck(request.headers.get("x-signature"), SECRET, time.time())
    if check.problem:
        return JSONResponse({"status": "unauthorized"}, 401)
    async for chunk in request.stream():
        check.update(chunk)
    if check.verdict():
        return JSONResponse({"status": "unauthorized"}, 401)
    return JSONResponse({"status": "accepted"}, 202)


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_config=None, access_log=False)
