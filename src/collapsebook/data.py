"""Dataset plumbing shared by the chapters: is the hub reachable, and where the cache lives.

Call :func:`configure_hub` before importing ``transformers`` or ``datasets``: when the hub cannot be
reached it sets ``HF_HUB_OFFLINE=1`` so that those libraries fail fast instead of retrying for minutes.
Loaders then fall back to small real data that ship with a package, and say so in one line.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

HUB_HOST = "huggingface.co"


def hub_reachable(host: str = HUB_HOST, port: int = 443, timeout: float = 3.0) -> bool:
    """A short TCP probe: can this machine open a connection to the model hub?"""
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0", "false", "False"):
        return False
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def configure_hub(timeout: float = 3.0) -> bool:
    """Decide once whether the hub is online; offline, set the hub's offline variables. Returns online."""
    online = hub_reachable(timeout=timeout)
    if not online:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["HF_DATASETS_OFFLINE"] = "1"
    return online


def cache_dir(*parts: str) -> Path:
    """A folder for cached artefacts: ``$COLLAPSEBOOK_CACHE`` (the build folder under make) or ~/.cache."""
    root = Path(os.environ.get("COLLAPSEBOOK_CACHE", Path.home() / ".cache" / "collapsebook"))
    folder = root.joinpath(*parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
