"""The node's settings: ``[node]`` of ``config.toml`` with the command line on top, validated once."""

from __future__ import annotations

import re
import socket
import ssl
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from app.config import Config, NodeAE, Peer, check_ae_title, check_host, check_port
from app.errors import InputError

__all__ = ["Allowed", "NodeSettings", "parse_allow", "parse_pacs", "server_ssl_context", "settings_from_config"]

_PEER_SPEC = re.compile(r"^(?P<aet>[^@]{1,16})@(?P<host>[^:@\s]+):(?P<port>\d{1,5})\Z")
_ALLOW_SPEC = re.compile(r"^(?P<aet>[^@]{1,16})@(?P<host>[^@\s]+)\Z")
_SCHEDULER = re.compile(r"^(tcp|tls|inproc|ucx)://[^\s/]+(:\d{1,5})?\Z")
METHODS = ("fbp", "sart", "os-sart", "sirt", "mlem", "osem", "tv")


@dataclass(frozen=True)
class Allowed:
    """A calling AE allowed to associate: its AE title and the host it must come from.

    ``host`` ``"*"`` accepts the AE title from any address (an explicit opt-in).
    """

    ae_title: str
    host: str
    addresses: frozenset[str] = field(default=frozenset(), compare=False)

    def matches(self, ae_title: str, address: str) -> bool:
        """Whether an association from ``ae_title`` at ``address`` is allowed by this entry."""
        if ae_title.strip() != self.ae_title:
            return False
        return self.host == "*" or address == self.host or address in self.addresses

    def __str__(self) -> str:
        return f"{self.ae_title}@{self.host}"


def parse_allow(spec: str, *, key: str = "--allow") -> Allowed:
    """``AE@HOST`` (a name is resolved to its addresses now) -> :class:`Allowed`.

    Raises
    ------
    InputError
        Naming ``key`` and the value.
    """
    if not isinstance(spec, str):
        raise InputError(f"{key}: must be 'AE@HOST', got {spec!r}")
    match = _ALLOW_SPEC.match(spec.strip())
    if not match:
        raise InputError(f"{key}: {spec!r} is not AE@HOST (e.g. MODALITY@10.0.0.5)")
    aet = check_ae_title(match["aet"], key=key)
    host = match["host"]
    addresses: set[str] = set()
    if host != "*":
        check_host(host, key=key)
        try:
            for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP):
                addresses.add(str(info[4][0]))
        except socket.gaierror as exc:
            raise InputError(f"{key}: cannot resolve host {host!r} ({exc.strerror or exc})") from None
        if host in ("localhost",):
            addresses |= {"127.0.0.1", "::1"}
    return Allowed(aet, host, frozenset(addresses))


def parse_pacs(spec: str, config: Config, *, key: str = "--pacs") -> Peer:
    """A configured peer's name or ``AE@HOST:PORT`` -> :class:`app.config.Peer`."""
    if not isinstance(spec, str) or not spec.strip():
        raise InputError(f"{key}: no PACS configured for the results (give --pacs AE@HOST:PORT or [node] pacs)")
    match = _PEER_SPEC.match(spec.strip())
    if match:
        port = int(match["port"])
        check_port(port, key=key)
        return Peer("node-pacs", match["aet"], match["host"], port)
    if "@" in spec:
        raise InputError(f"{key}: {spec!r} is not AE@HOST:PORT (e.g. ORTHANC@pacs.example.org:4242)")
    try:
        return config.peer(spec.strip())
    except InputError as exc:
        raise InputError(f"{key}: {exc}") from None


@dataclass(frozen=True)
class NodeSettings:
    """Everything ``crescent node serve`` needs, validated.

    Attributes
    ----------
    ae_title, host, port
        Where the node's Storage SCP listens (port 0: any free port, see ``Node.port``).
    pacs : Peer
        Where the results go.
    allow : tuple of Allowed
        Calling AE titles and hosts that may associate; everyone else is rejected.
    scheduler : str or None
        ``tcp://HOST:PORT`` of an existing Dask scheduler, or None for an in-process cluster.
    workers : int
        Workers of the in-process cluster (one thread each).
    worker_processes : bool
        In-process cluster workers as processes (True) or threads in the node (False).
    method : str
        Reconstruction method (``recon.reconstruct``).
    preview : bool
        Reconstruct and send a fast preview (2 mm slices, 2x2-binned) before the final volume.
    cad_models : str
        ``cad.detect`` models: ``"default"``, ``"classical"`` or a manifest path.
    quiet_s : float
        An acquisition whose projection count is unknown (or that stays incomplete) is
        processed this long after its last projection arrived.
    max_attempts : int
        Tries of a job before it is failed; transient failures (the PACS unreachable) wait
        ``backoff_s * 2**(attempt - 1)`` (at most ``backoff_max_s``) between tries.
    chunks : int or None
        Slice slabs a volume is split into across workers (None: as many as worker threads).
    slice_mm : float
        Slice spacing of the final volume.
    timeout_s : float
        DICOM association and message time limit (also towards the PACS).
    tls_cert, tls_key, tls_ca : Path or None
        DICOM TLS for incoming associations; with ``tls_ca`` clients must present a
        certificate it signed.
    audit_log : Path or None
        JSON-lines audit log (default ``node-audit.jsonl`` in the store folder).
    """

    ae_title: str = "CRESCENT_NODE"
    host: str = "0.0.0.0"
    port: int = 11113
    pacs: Peer | None = None
    allow: tuple[Allowed, ...] = ()
    scheduler: str | None = None
    workers: int = 1
    worker_processes: bool = False
    method: str = "fbp"
    preview: bool = True
    cad_models: str = "default"
    quiet_s: float = 30.0
    max_attempts: int = 6
    backoff_s: float = 2.0
    backoff_max_s: float = 600.0
    chunks: int | None = None
    slice_mm: float = 1.0
    timeout_s: float = 30.0
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_ca: Path | None = None
    audit_log: Path | None = None

    def __post_init__(self):
        check_ae_title(self.ae_title, key="node.ae_title")
        check_host(self.host, key="node.host")
        check_port(self.port, key="node.port", allow_zero=True)
        if self.pacs is not None and not isinstance(self.pacs, Peer):
            raise TypeError("pacs must be an app.config.Peer")
        if not all(isinstance(a, Allowed) for a in self.allow):
            raise TypeError("allow must hold Allowed entries (see parse_allow)")
        if self.scheduler is not None and not _SCHEDULER.match(self.scheduler):
            raise InputError(f"--scheduler: {self.scheduler!r} is not a scheduler address like tcp://HOST:PORT")
        if self.method not in METHODS:
            raise InputError(f"--method: unknown method {self.method!r}; choose one of {', '.join(METHODS)}")
        for name in ("workers", "max_attempts"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InputError(f"--{name.replace('_', '-')}: must be an integer >= 1, got {v!r}")
        if self.chunks is not None and (isinstance(self.chunks, bool) or not isinstance(self.chunks, int)):
            raise InputError(f"--chunks: must be an integer >= 1, got {self.chunks!r}")
        if self.chunks is not None and self.chunks < 1:
            raise InputError(f"--chunks: must be an integer >= 1, got {self.chunks!r}")
        for name in ("quiet_s", "backoff_s", "backoff_max_s", "slice_mm", "timeout_s"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not v > 0 or v != v or v == float("inf"):
                raise InputError(f"--{name.replace('_', '-')}: must be a positive number, got {v!r}")
        if not isinstance(self.cad_models, str) or not self.cad_models:
            raise InputError(
                f"--cad-models: must be 'default', 'classical' or a manifest path, got {self.cad_models!r}"
            )
        if (self.tls_cert is None) != (self.tls_key is None):
            raise InputError("--tls-cert and --tls-key: give both (or neither)")
        if self.tls_ca is not None and self.tls_cert is None:
            raise InputError("--tls-ca: needs --tls-cert and --tls-key (the node's own certificate)")
        for name in ("tls_cert", "tls_key", "tls_ca"):
            path = getattr(self, name)
            if path is not None and not Path(path).is_file():
                raise InputError(f"--{name.replace('_', '-')} {path}: no such file")

    @property
    def tls(self) -> bool:
        """Whether incoming associations use DICOM TLS."""
        return self.tls_cert is not None

    def allows(self, ae_title: str, address: str) -> bool:
        """Whether an association from ``ae_title`` at ``address`` is allowed."""
        return any(a.matches(ae_title, address) for a in self.allow)

    def backoff(self, attempts: int) -> float:
        """Seconds to wait before try ``attempts + 1`` after a transient failure of try ``attempts``."""
        return float(min(self.backoff_max_s, self.backoff_s * 2.0 ** max(0, attempts - 1)))


def _path(value: str | None) -> Path | None:
    return Path(value).expanduser() if value else None


def settings_from_config(config: Config, **overrides) -> NodeSettings:
    """Settings from ``config.node`` (``[node]``) with command-line ``overrides`` on top.

    Parameters
    ----------
    config : Config
        The loaded configuration (peers for a ``pacs`` given by name).
    **overrides
        :class:`NodeSettings` fields; ``None`` means "not given". ``pacs`` may be a string
        (peer name or ``AE@HOST:PORT``) and ``allow`` a list of ``AE@HOST`` strings.

    Returns
    -------
    NodeSettings

    Raises
    ------
    InputError
        Naming the option or ``node.<key>`` and the bad value.
    """
    if not isinstance(config, Config):
        raise TypeError(f"config must be an app.config.Config, got {type(config).__name__}")
    node: NodeAE = config.node
    known = {f.name for f in fields(NodeSettings)}
    bad = sorted(set(overrides) - known)
    if bad:
        raise TypeError(f"unknown node setting {bad[0]!r}")
    given = {k: v for k, v in overrides.items() if v is not None}

    pacs = given.pop("pacs", None)
    pacs_key = "--pacs"
    if pacs is None:
        pacs, pacs_key = node.pacs, "node.pacs"
    peer = pacs if isinstance(pacs, Peer) else parse_pacs(pacs, config, key=pacs_key)

    allow = given.pop("allow", None)
    allow_key = "--allow"
    if allow is None or len(allow) == 0:
        allow, allow_key = node.allow, "node.allow"
    allowed = tuple(a if isinstance(a, Allowed) else parse_allow(a, key=allow_key) for a in allow)

    base = dict(
        ae_title=node.ae_title,
        host=node.host,
        port=node.port,
        scheduler=node.scheduler or None,
        workers=node.workers,
        method=node.method,
        preview=node.preview,
        cad_models=node.cad_models,
        quiet_s=node.quiet_s,
        max_attempts=node.max_attempts,
        tls_cert=_path(node.tls_cert),
        tls_key=_path(node.tls_key),
        tls_ca=_path(node.tls_ca),
        timeout_s=config.local.timeout_s,
    )
    for name in ("tls_cert", "tls_key", "tls_ca", "audit_log"):
        if name in given:
            given[name] = _path(str(given[name]))
    if "ae_title" in given:
        given["ae_title"] = check_ae_title(given["ae_title"], key="--ae-title")
    if "port" in given:
        check_port(given["port"], key="--port", allow_zero=True)
    base.update(given)
    if isinstance(base.get("method"), str):
        base["method"] = base["method"].lower()
    return NodeSettings(pacs=peer, allow=allowed, **base)


def with_port(settings: NodeSettings, port: int) -> NodeSettings:
    """A copy listening on ``port``."""
    return replace(settings, port=port)


def server_ssl_context(settings: NodeSettings) -> ssl.SSLContext | None:
    """The TLS context of the node's Storage SCP (None without TLS).

    TLS 1.2 or later; with ``tls_ca`` a client certificate signed by that CA is required.

    Raises
    ------
    InputError
        When the certificate, key or CA cannot be loaded (naming the file).
    """
    if not settings.tls:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(str(settings.tls_cert), str(settings.tls_key))
    except (ssl.SSLError, OSError) as exc:
        what = f"--tls-cert {settings.tls_cert} / --tls-key {settings.tls_key}"
        raise InputError(f"{what}: cannot load ({exc})") from None
    if settings.tls_ca is not None:
        try:
            ctx.load_verify_locations(cafile=str(settings.tls_ca))
        except (ssl.SSLError, OSError) as exc:
            raise InputError(f"--tls-ca {settings.tls_ca}: cannot load ({exc})") from None
        ctx.verify_mode = ssl.CERT_REQUIRED
    else:
        ctx.verify_mode = ssl.CERT_NONE
    return ctx
