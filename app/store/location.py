"""Where the study store lives: ``--store``, then ``$CRESCENT_HOME``, then the user data folder."""

from __future__ import annotations

import os
from pathlib import Path

DB_NAME = "crescent.sqlite"
"""File name of the SQLite database inside the store folder."""


def default_store_dir() -> Path:
    """The store folder when no ``--store`` is given.

    Returns
    -------
    pathlib.Path
        ``$CRESCENT_HOME`` if it is set and not empty, else the user data folder
        (``~/.local/share/crescent`` on Linux, honouring ``XDG_DATA_HOME``).
    """
    home = os.environ.get("CRESCENT_HOME", "").strip()
    if home:
        return Path(home).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_path("crescent", appauthor=False))


def resolve_store_dir(store: str | os.PathLike[str] | None = None) -> Path:
    """The store folder for an explicit ``--store`` value, or the default.

    Parameters
    ----------
    store : str or os.PathLike or None
        The ``--store`` option; ``None`` or ``""`` means the default.

    Returns
    -------
    pathlib.Path
        An absolute path (the folder need not exist yet).
    """
    if store is not None and not isinstance(store, str | os.PathLike):
        raise TypeError(f"store must be a path or None, got {type(store).__name__}")
    path = Path(store).expanduser() if store not in (None, "") else default_store_dir()
    return path.absolute()
