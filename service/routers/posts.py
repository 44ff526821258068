"""``/api/analyses/{id}/posts``: an analysis's shorts, reel and thumbnails, rendered in the
background (``service.renders.Renders`` over ``pipeline_export.export``) and downloaded file by file
or as one zip."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from emotion import pipeline_export
from emotion.analysis import Analysis
from emotion.errors import ReelError, ShortsError
from emotion.export.layouts import check_picture
from emotion.export.reel import write_reel
from emotion.export.shorts import write_shorts
from service.dependencies import Service, service
from service.errors import ApiError
from service.renders import Render
from service.routers.analyses import Chat, Labels, Rules, _scored
from service.schemas import PostFile, PostsCreated, PostsRequest, PostsStatus

router = APIRouter(prefix="/api/analyses", tags=["posts"])
Svc = Annotated[Service, Depends(service)]

MEDIA_TYPES = {".mp4": "video/mp4", ".jpg": "image/jpeg", ".txt": "text/plain"}


@router.post(
    "/{job_id}/posts",
    status_code=202,
    response_model=PostsCreated,
    summary="Render shorts, a reel and thumbnails of an analysis's highlights",
    description="The highlights the exports hold (the kept ones when some are kept, else all "
    "but the rejected ones), scored as GET .../highlights scores them, rendered in the "
    "background one render at a time. Follow it with GET .../posts/{render_id}; files already "
    "rendered with the same highlights and settings are kept, so asking again renders only "
    "what is missing.",
)
async def create(
    svc: Svc, job_id: str, request: PostsRequest, rules: Rules, chat: Chat, labels: Labels = None
) -> PostsCreated:
    exports = _exports(request)  # a bad option is refused before anything is scored
    analysis = await _scored(svc, job_id, labels, rules, chat)
    subject = await run_in_threadpool(pipeline_export.for_export, analysis, svc.store)
    await run_in_threadpool(_check_source, subject, exports)
    if len(svc.runner.renders.active()) >= svc.config.max_jobs:
        raise ApiError(
            429,
            f"{svc.config.max_jobs} renders are already queued or running; wait for one to "
            "finish, then ask again.",
        )
    render = svc.runner.renders.submit(job_id, subject, exports)
    return PostsCreated(id=render.id)


@router.get("/{job_id}/posts", response_model=list[PostsStatus], summary="The analysis's renders")
async def list_all(svc: Svc, job_id: str) -> list[PostsStatus]:
    return [_status(r) for r in svc.runner.renders.of(job_id)]


@router.get(
    "/{job_id}/posts/{render_id}",
    response_model=PostsStatus,
    summary="A render's status, progress and ETA, and its files once complete",
)
async def get(svc: Svc, job_id: str, render_id: str) -> PostsStatus:
    return _status(_render(svc, job_id, render_id))


@router.delete(
    "/{job_id}/posts/{render_id}",
    status_code=204,
    summary="Forget a render (a running one stops after the file it is making)",
)
async def delete(svc: Svc, job_id: str, render_id: str) -> Response:
    svc.runner.renders.forget(_render(svc, job_id, render_id).id)
    return Response(status_code=204)


@router.get(
    "/{job_id}/posts/{render_id}/files/{name:path}",
    summary="One file of a complete render (a name from its files)",
    response_class=FileResponse,
    responses={200: {"content": {t: {} for t in MEDIA_TYPES.values()}}},
)
async def file(svc: Svc, job_id: str, render_id: str, name: str) -> FileResponse:
    render = _complete(svc, job_id, render_id)
    found = next((p for p in render.files if _name(render, p) == name), None)
    if found is None:
        raise ApiError(
            404,
            f"The render {render_id} has no file {name!r}; its files are listed by GET "
            f"/api/analyses/{job_id}/posts/{render_id}.",
        )
    return _download(found, MEDIA_TYPES.get(found.suffix, "application/octet-stream"))


@router.get(
    "/{job_id}/posts/{render_id}/zip",
    summary="Every file of a complete render as one zip, in its folders",
    response_class=FileResponse,
    responses={200: {"content": {"application/zip": {}}}},
)
async def archive(svc: Svc, job_id: str, render_id: str) -> FileResponse:
    render = _complete(svc, job_id, render_id)
    assert render.zip is not None  # complete
    return _download(render.zip, "application/zip", f"posts-{job_id}.zip")


def _exports(request: PostsRequest) -> pipeline_export.ExportSettings:
    """The library's settings of what is asked; a refusal is the library's sentence with
    the body's field named (as the CLI names its flag)."""
    if request.shorts is None and request.reel is None and not request.thumbnails:
        raise ApiError(
            422,
            "Nothing to render; ask for shorts, a reel or thumbnails ('shorts': {} makes "
            "shorts with the default settings).",
        )
    try:
        shorts = None if request.shorts is None else request.shorts.settings()
        reel = None if request.reel is None else request.reel.settings()
    except ShortsError as e:
        part = "reel" if isinstance(e, ReelError) else "shorts"
        raise ApiError(422, f"{e} ({part}.{e.setting})" if e.setting else str(e)) from None
    return pipeline_export.ExportSettings(
        formats=(), thumbnails=request.thumbnails, shorts=shorts, reel=reel
    )


def _check_source(subject: Analysis, exports: pipeline_export.ExportSettings) -> None:
    """Refuse now what the render would refuse at once: no highlights to render (the
    writers' own sentences: with none they raise before touching a file), crop or split
    without a picture, a face cam outside it (reads the file's header: off the event loop)."""
    if not subject.highlights:
        try:
            if exports.reel is not None:
                write_reel(subject.source.path, [], Path(), exports.reel)
            if exports.shorts is not None:
                write_shorts(subject.source, [], Path(), exports.shorts)
        except ShortsError as e:
            raise ApiError(422, str(e)) from None
        raise ApiError(
            422,
            "There are no highlights to take thumbnails of; lower the threshold or keep "
            "a moment by hand first.",
        )
    if exports.shorts is not None:
        try:
            check_picture(subject.source, exports.shorts)
        except ShortsError as e:
            raise ApiError(422, f"{e} (shorts.{e.setting})" if e.setting else str(e)) from None


def _render(svc: Service, job_id: str, render_id: str) -> Render:
    render = svc.runner.renders.get(render_id)
    if render is None or render.analysis != job_id:
        raise ApiError(
            404,
            f"There is no render {render_id!r} of the analysis {job_id!r}; list them with "
            f"GET /api/analyses/{job_id}/posts.",
        )
    return render


def _complete(svc: Service, job_id: str, render_id: str) -> Render:
    render = _render(svc, job_id, render_id)
    if render.status != "complete":
        raise ApiError(
            409,
            f"The render {render_id} is {render.status}, not complete; wait for it to "
            f"finish (GET /api/analyses/{job_id}/posts/{render_id} shows its progress).",
        )
    return render


def _name(render: Render, path: Path) -> str:
    return path.relative_to(render.folder).as_posix()


def _download(path: Path, media_type: str, filename: str | None = None) -> FileResponse:
    if not path.is_file():  # evicted for the disk budget since
        raise ApiError(
            410,
            f"{path.name} was removed to free disk space; ask for the render again (it "
            "renders only what is missing).",
        )
    return FileResponse(path, media_type=media_type, filename=filename or path.name)


def _status(render: Render) -> PostsStatus:
    base = f"/api/analyses/{render.analysis}/posts/{render.id}"
    complete = render.status == "complete"
    files = (
        [
            PostFile(
                name=_name(render, p),
                bytes=p.stat().st_size,
                url=f"{base}/files/{_name(render, p)}",
            )
            for p in render.files
            if p.is_file()
        ]
        if complete
        else []
    )
    return PostsStatus(
        id=render.id,
        analysis=render.analysis,
        status=render.status,  # type: ignore[arg-type]
        stage=render.stage,
        progress=render.fraction,
        eta_s=render.eta_s,
        message=render.message,
        error=render.error,
        notes=list(render.notes),
        highlights=len(render.subject.highlights),
        files=files,
        zip_url=f"{base}/zip" if complete else None,
        created=render.created,
    )
