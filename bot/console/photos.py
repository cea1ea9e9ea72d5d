"""Serving a complaint's photo from the media folder, and nothing else of the server's disk."""
from __future__ import annotations

from pathlib import Path
from typing import Optional


def photo_file(media_dir: Path, photo_path: Optional[str]) -> Optional[Path]:
    """The stored photo, only if it is a file inside the media folder.

    `photo_path` comes from the database, relative to the media folder (or `channel:platform_id`
    when the download failed). Anything resolving outside the folder — `..`, an absolute path,
    a symlink pointing out — is refused, so a bad row can never make the console serve another
    file of the server.
    """
    if not photo_path:
        return None
    root = media_dir.resolve()
    try:
        candidate = (root / photo_path).resolve()
    except (OSError, RuntimeError, ValueError):
        return None
    if candidate == root or not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate
