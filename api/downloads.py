"""Workbook downloads: the file is written to a temporary path by the service, sent, then removed (also
when writing it fails), so no export with personal data stays on disk."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_download(write: Callable[[Path], object], filename: str) -> FileResponse:
    """``write(path)`` fills the workbook; the response sends it as ``filename`` and deletes it after."""
    fd, name = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    path = Path(name)
    try:
        write(path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return FileResponse(path, filename=filename, media_type=XLSX, background=BackgroundTask(path.unlink))
