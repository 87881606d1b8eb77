"""The one configuration file: ``config.toml`` in the user config folder.

``~/.config/crescent/config.toml`` on Linux (``$XDG_CONFIG_HOME/crescent/config.toml``). It holds
the PACS peers, this workstation's DICOM application entity (the Storage SCP that C-MOVE sends
to), the reconstruction node's AE, and user preferences. The command line overrides it. A
missing file means the defaults::

    [local]                 # this workstation's AE (C-MOVE destination, SCU calling AE title)
    ae_title = "CRESCENT"
    host = "0.0.0.0"        # address the Storage SCP listens on
    port = 11112            # port the Storage SCP listens on (0: any free port; C-GET only)
    timeout_s = 30.0        # association and DIMSE time limit

    [node]                  # the reconstruction node (crescent node serve; see app.node)
    ae_title = "CRESCENT_NODE"
    host = "0.0.0.0"
    port = 11113
    pacs = "pacs"           # where results go: a peer name or AE@HOST:PORT
    allow = ["MODALITY@10.0.0.5"]   # calling AE@HOST allowed to associate (empty: nobody)
    scheduler = ""          # tcp://HOST:PORT of a Dask scheduler ("": an in-process cluster)
    workers = 1             # workers of the in-process cluster
    method = "fbp"          # reconstruction method
    preview = true          # send a fast preview volume first
    cad_models = "default"  # "default", "classical" or a model manifest path
    quiet_s = 30.0          # an incomplete acquisition is processed after this quiet time
    max_attempts = 6        # tries of a job (sending retries with exponential backoff)
    tls_cert = ""           # DICOM TLS: certificate and key (PEM), and the CA that signs clients
    tls_key = ""
    tls_ca = ""

    [preferences]
    reader_name = ""
    cad_mark_min_score = 40.0   # CAD marks below this score are hidden (Shift+C shows all)

    [peers.pacs]            # one table per remote AE; the name is what the CLI takes
    ae_title = "ORTHANC"
    host = "pacs.example.org"
    port = 4242

A bad file gives one line naming the file and the key (``peers.pacs.port``).
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from app.errors import InputError

CONFIG_NAME = "config.toml"
_PEER_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")


def config_path() -> Path:
    """The configuration file: ``config.toml`` in the user config folder (honours ``XDG_CONFIG_HOME``)."""
    import platformdirs

    return Path(platformdirs.user_config_path("crescent", appauthor=False)) / CONFIG_NAME


def check_ae_title(value: object, *, key: str = "ae_title") -> str:
    """Validate a DICOM AE title (1-16 characters, no backslash or control characters, not all spaces).

    Parameters
    ----------
    value : object
        The candidate.
    key : str
        The configuration key or option, for the message.

    Returns
    -------
    str
        The AE title without surrounding spaces.

    Raises
    ------
    InputError
        Naming ``key`` and the value.
    """
    if not isinstance(value, str):
        raise InputError(f"{key}: must be a string, got {value!r}")
    text = value.strip()
    if not 1 <= len(text) <= 16 or "\\" in text or any(ord(c) < 32 or ord(c) > 126 for c in text):
        raise InputError(f"{key}: not a DICOM AE title (1-16 printable ASCII characters, no backslash): {value!r}")
    return text


def check_port(value: object, *, key: str = "port", allow_zero: bool = False) -> int:
    """Validate a TCP port number (1-65535; 0 too when ``allow_zero``).

    Raises
    ------
    InputError
        Naming ``key`` and the value.
    """
    low = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 65535:
        raise InputError(f"{key}: must be an integer {low}-65535, got {value!r}")
    return value


def check_host(value: object, *, key: str = "host") -> str:
    """Validate a host name or address (non-empty, no spaces).

    Raises
    ------
    InputError
        Naming ``key`` and the value.
    """
    if not isinstance(value, str) or not value.strip() or any(c.isspace() for c in value.strip()):
        raise InputError(f"{key}: must be a host name or address, got {value!r}")
    return value.strip()


@dataclass(frozen=True)
class Peer:
    """A remote DICOM application entity (a PACS)."""

    name: str
    ae_title: str
    host: str
    port: int

    def __post_init__(self):
        if not isinstance(self.name, str) or not _PEER_NAME.match(self.name):
            raise InputError(f"peer name must be 1-64 letters, digits, '_' or '-', got {self.name!r}")
        object.__setattr__(self, "ae_title", check_ae_title(self.ae_title, key=f"peers.{self.name}.ae_title"))
        object.__setattr__(self, "host", check_host(self.host, key=f"peers.{self.name}.host"))
        check_port(self.port, key=f"peers.{self.name}.port")

    def __str__(self) -> str:
        return f"{self.name} ({self.ae_title}@{self.host}:{self.port})"


@dataclass(frozen=True)
class LocalAE:
    """This workstation's AE: calling AE title, and where its Storage SCP listens (C-MOVE destination)."""

    ae_title: str = "CRESCENT"
    host: str = "0.0.0.0"
    port: int = 11112
    timeout_s: float = 30.0

    def __post_init__(self):
        object.__setattr__(self, "ae_title", check_ae_title(self.ae_title, key="local.ae_title"))
        object.__setattr__(self, "host", check_host(self.host, key="local.host"))
        check_port(self.port, key="local.port", allow_zero=True)
        t = self.timeout_s
        if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t) or t <= 0:
            raise InputError(f"local.timeout_s: must be a positive number of seconds, got {t!r}")
        object.__setattr__(self, "timeout_s", float(t))


@dataclass(frozen=True)
class NodeAE:
    """The reconstruction node's AE (its DICOM service)."""

    ae_title: str = "CRESCENT_NODE"
    host: str = "0.0.0.0"
    port: int = 11113
    pacs: str = ""
    allow: tuple[str, ...] = ()
    scheduler: str = ""
    workers: int = 1
    method: str = "fbp"
    preview: bool = True
    cad_models: str = "default"
    quiet_s: float = 30.0
    max_attempts: int = 6
    tls_cert: str = ""
    tls_key: str = ""
    tls_ca: str = ""

    def __post_init__(self):
        object.__setattr__(self, "ae_title", check_ae_title(self.ae_title, key="node.ae_title"))
        object.__setattr__(self, "host", check_host(self.host, key="node.host"))
        check_port(self.port, key="node.port", allow_zero=True)
        # formats (AE@HOST, tcp://HOST:PORT, method names) are checked by app.node.settings
        for name in ("pacs", "scheduler", "method", "cad_models", "tls_cert", "tls_key", "tls_ca"):
            if not isinstance(getattr(self, name), str):
                raise InputError(f"node.{name}: must be a string, got {getattr(self, name)!r}")
        allow = self.allow
        if not isinstance(allow, list | tuple) or not all(isinstance(a, str) for a in allow):
            raise InputError(f"node.allow: must be a list of 'AE@HOST' strings, got {allow!r}")
        object.__setattr__(self, "allow", tuple(allow))
        for name, low in (("workers", 1), ("max_attempts", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise InputError(f"node.{name}: must be an integer >= {low}, got {v!r}")
        if not isinstance(self.preview, bool):
            raise InputError(f"node.preview: must be true or false, got {self.preview!r}")
        q = self.quiet_s
        if isinstance(q, bool) or not isinstance(q, int | float) or not math.isfinite(q) or q <= 0:
            raise InputError(f"node.quiet_s: must be a positive number of seconds, got {q!r}")
        object.__setattr__(self, "quiet_s", float(q))


@dataclass(frozen=True)
class Preferences:
    """User preferences."""

    reader_name: str = ""
    # The shipped models give about one false mark per volume at 35-40 on validation cases
    # (masses 35; calcification pairs score at most 55): the reading operating point.
    cad_mark_min_score: float = 40.0

    def __post_init__(self):
        if not isinstance(self.reader_name, str):
            raise InputError(f"preferences.reader_name: must be a string, got {self.reader_name!r}")
        v = self.cad_mark_min_score
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 100:
            raise InputError(f"preferences.cad_mark_min_score: must be a number from 0 to 100, got {v!r}")
        object.__setattr__(self, "cad_mark_min_score", float(v))


@dataclass(frozen=True)
class Config:
    """The whole configuration. Change it with :func:`dataclasses.replace` or the ``with_*`` helpers."""

    local: LocalAE = field(default_factory=LocalAE)
    node: NodeAE = field(default_factory=NodeAE)
    preferences: Preferences = field(default_factory=Preferences)
    peers: tuple[Peer, ...] = ()

    def peer(self, name: str) -> Peer:
        """The peer called ``name``.

        Raises
        ------
        InputError
            When there is none; the message lists the configured peers.
        """
        for p in self.peers:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.peers) or "none"
        raise InputError(f"unknown PACS peer {name!r} (configured: {known}; add one with 'crescent pacs add')")

    def with_peer(self, peer: Peer) -> Config:
        """A copy with ``peer`` added, replacing any peer of the same name."""
        if not isinstance(peer, Peer):
            raise TypeError(f"peer must be a Peer, got {type(peer).__name__}")
        others = tuple(p for p in self.peers if p.name != peer.name)
        return replace(self, peers=tuple(sorted(others + (peer,), key=lambda p: p.name)))

    def without_peer(self, name: str) -> Config:
        """A copy without the peer called ``name`` (which must exist)."""
        self.peer(name)
        return replace(self, peers=tuple(p for p in self.peers if p.name != name))

    def to_dict(self) -> dict:
        """The configuration as nested dicts, the shape of ``config.toml``."""
        return {
            "local": {
                "ae_title": self.local.ae_title,
                "host": self.local.host,
                "port": self.local.port,
                "timeout_s": self.local.timeout_s,
            },
            "node": {
                name: (list(getattr(self.node, name)) if name == "allow" else getattr(self.node, name))
                for name in self.node.__dataclass_fields__
            },
            "preferences": {
                "reader_name": self.preferences.reader_name,
                "cad_mark_min_score": self.preferences.cad_mark_min_score,
            },
            "peers": {p.name: {"ae_title": p.ae_title, "host": p.host, "port": p.port} for p in self.peers},
        }


_SECTIONS = {"local": LocalAE, "node": NodeAE, "preferences": Preferences}


def _table(value: object, key: str) -> dict:
    if not isinstance(value, dict):
        raise InputError(f"{key}: must be a table, got {value!r}")
    return value


def _build(cls, data: dict, key: str):
    allowed = set(cls.__dataclass_fields__)
    for name in data:
        if name not in allowed:
            raise InputError(f"{key}.{name}: unknown key (known: {', '.join(sorted(allowed))})")
    return cls(**data)


def config_from_dict(data: dict) -> Config:
    """Validate nested dicts (the shape of ``config.toml``) into a :class:`Config`.

    Raises
    ------
    InputError
        Naming the first bad key.
    """
    if not isinstance(data, dict):
        raise TypeError("data must be a dict")
    for name in data:
        if name not in (*_SECTIONS, "peers"):
            raise InputError(f"{name}: unknown section (known: local, node, peers, preferences)")
    parts = {name: _build(cls, _table(data.get(name, {}), name), name) for name, cls in _SECTIONS.items()}
    peers = []
    for name, table in _table(data.get("peers", {}), "peers").items():
        table = _table(table, f"peers.{name}")
        for required in ("ae_title", "host", "port"):
            if required not in table:
                raise InputError(f"peers.{name}.{required}: missing")
        peers.append(_build(Peer, {"name": name, **table}, f"peers.{name}"))
    return Config(peers=tuple(sorted(peers, key=lambda p: p.name)), **parts)


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read the configuration file (the defaults when it does not exist).

    Parameters
    ----------
    path : str or os.PathLike, optional
        Defaults to :func:`config_path`.

    Returns
    -------
    Config

    Raises
    ------
    InputError
        One line naming the file and the bad key or the TOML syntax error.
    """
    path = Path(path) if path is not None else config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the configuration: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None
    try:
        return config_from_dict(data)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None


def save_config(config: Config, path: str | os.PathLike[str] | None = None) -> Path:
    """Write the configuration atomically (a temporary file, then a rename).

    Parameters
    ----------
    config : Config
        What to write.
    path : str or os.PathLike, optional
        Defaults to :func:`config_path`.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    if not isinstance(config, Config):
        raise TypeError(f"config must be a Config, got {type(config).__name__}")
    path = Path(path) if path is not None else config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("# Crescent configuration (written by crescent)\n" + dumps_toml(config.to_dict()), encoding="utf-8")
    os.replace(tmp, path)
    return path


# --------------------------------------------------------------------------- a minimal TOML writer
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key(name: str) -> str:
    # fullmatch: "$" would also accept a key ending in a newline ("0\n") as bare
    return name if _BARE_KEY.fullmatch(name) else _string(name)


def _string(text: str) -> str:
    out = []
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _value(value: object, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v, where) for v in value) + "]"
    raise TypeError(f"{where}: cannot write {type(value).__name__} as TOML")


def dumps_toml(data: dict) -> str:
    """Write nested dicts of strings, numbers, booleans and lists as TOML (tables for sub-dicts).

    Parameters
    ----------
    data : dict
        Keys are strings; values are scalars, lists of scalars, or dicts (written as tables).

    Returns
    -------
    str
        TOML text that :func:`tomllib.loads` reads back to ``data`` (tuples become lists).
    """
    if not isinstance(data, dict):
        raise TypeError("data must be a dict")
    lines: list[str] = []
    _emit(data, [], lines)
    return "\n".join(lines).strip() + "\n"


def _emit(table: dict, prefix: list[str], lines: list[str]) -> None:
    scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in table.items() if isinstance(v, dict)}
    if prefix and (scalars or not tables):
        lines.append("")
        lines.append("[" + ".".join(_key(p) for p in prefix) + "]")
    for k, v in scalars.items():
        if not isinstance(k, str):
            raise TypeError(f"TOML keys must be strings, got {k!r}")
        lines.append(f"{_key(k)} = {_value(v, '.'.join([*prefix, k]))}")
    for k, v in tables.items():
        _emit(v, [*prefix, k], lines)
