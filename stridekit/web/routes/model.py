"""The model tab: upload an ONNX, Keras or TFLite file, then ``/api/analyze``,
``/api/doctor``, ``/api/sizes``, ``/api/network`` on a model, ``/api/compare`` on two, and
``/api/plan``; every one runs in the worker pool."""

from __future__ import annotations

import json
from pathlib import PurePath

from fastapi import APIRouter, Depends, File, Query, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from stridekit.web.model_requests import (
    AnalyzeRequest,
    CompareRequest,
    DoctorRequest,
    ModelRequest,
    PlanRequest,
    SizesRequest,
)
from stridekit.web.routes.responses import ERRORS, RESULT, json_text
from stridekit.web.state import Explorer, explorer

router = APIRouter(prefix="/api", tags=["model"], responses={**RESULT, **ERRORS})


async def _job(kind: str, request: ModelRequest | CompareRequest, state: Explorer) -> Response:
    """Job ``kind`` on the request's model (or models), run in the worker pool."""
    params, blob = request.job_params(state.limits, state.uploads)
    return json_text(await state.pool.run(kind, params, blob))


@router.post("/upload", response_class=Response)
async def upload(file: UploadFile = File(...), state: Explorer = Depends(explorer)) -> Response:
    """Keep a model file, ``.onnx``, ``.keras`` or ``.tflite`` by its name (checked as data,
    never executed); answers its id for ``model.file``."""
    data = await file.read()
    name = PurePath(file.filename or "model.onnx").name[:200]
    stored = await run_in_threadpool(state.uploads.add, name, data)
    return json_text(json.dumps(stored.to_dict()))


@router.post("/analyze", response_class=Response)
async def analyze(request: AnalyzeRequest, state: Explorer = Depends(explorer)) -> Response:
    """Per-layer shapes, stride, jump, receptive field, FLOPs and params."""
    return await _job("analyze", request, state)


@router.post("/doctor", response_class=Response)
async def doctor(request: DoctorRequest, state: Explorer = Depends(explorer)) -> Response:
    """The doctor's findings, most severe first, each with its numbers and a fix."""
    return await _job("doctor", request, state)


@router.post("/sizes", response_class=Response)
async def sizes(request: SizesRequest, state: Explorer = Depends(explorer)) -> Response:
    """The input sizes at which no pixel is dropped and merges stay equal, per axis."""
    return await _job("sizes", request, state)


@router.post("/network", response_class=Response)
async def network(request: ModelRequest, state: Explorer = Depends(explorer)) -> Response:
    """The network diagram (``stridekit viz network``): stages of equal stride, merges,
    the receptive field; its data, a summary, and the SVG."""
    return await _job("network", request, state)


@router.post("/compare", response_class=Response)
async def compare(request: CompareRequest, state: Explorer = Depends(explorer)) -> Response:
    """Two models side by side (``stridekit compare``): their spatial layers aligned, what
    differs per layer, the first divergence with its fix, the offset at the output."""
    return await _job("compare", request, state)


@router.post("/plan", response_class=Response)
async def plan(request: PlanRequest, state: Explorer = Depends(explorer)) -> Response:
    """The cheapest stride placements for a template family and a task."""
    return json_text(await state.pool.run("plan", request.job_params(state.limits)))


@router.get("/models", response_class=Response)
async def models(
    match: str = Query("", max_length=100, description="Only names containing this text"),
    limit: int = Query(50, ge=1, le=5000),
    state: Explorer = Depends(explorer),
) -> Response:
    """Registry names (``torchvision:NAME``, ``timm:NAME``) for the model picker."""
    names = json.loads(await state.pool.run("models", {}))["models"]
    found = [n for n in names if match.lower() in n.lower()]
    return json_text(json.dumps({"count": len(found), "models": found[:limit]}))
