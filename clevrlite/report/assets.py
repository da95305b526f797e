"""The sites' static files (clevrlite/report/static) and the data scripts that carry JSON to
pages opened from disk, where Chromium forbids fetching files: each assigns to a global."""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any


def static_text(name: str) -> str:
    """A file of the package's static assets."""
    return files("clevrlite.report.static").joinpath(name).read_text(encoding="utf-8")


def json_text(data: Any) -> str:
    """Compact JSON, non-ASCII kept: the same bytes for the same data."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def js_data(name: str, data: Any) -> str:
    """A script that assigns ``data`` to the global ``name``."""
    return f"window.{name}={json_text(data)};\n"


__all__ = ["js_data", "json_text", "static_text"]
