"""Where the pipeline keeps its files: the data home and the folders under it (CONFIGURATION.md)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def default_home(env: Mapping[str, str]) -> Path:
    """The per-user data home: `$XDG_DATA_HOME/superbill`, else `~/.local/share/superbill`."""
    base = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local" / "share")
    return Path(base) / "superbill"


def home_of(env: Mapping[str, str]) -> Path:
    """The data home: `SUPERBILL_HOME` (a relative path from the working directory), else `default_home`."""
    chosen = env.get("SUPERBILL_HOME")
    path = Path(chosen).expanduser() if chosen else default_home(env)
    return path if path.is_absolute() else (Path.cwd() / path)


def cache_dir_of(env: Mapping[str, str]) -> Path:
    """Files derived from installed packages, rebuilt when missing: `cache/` in the data home."""
    return home_of(env) / "cache"
