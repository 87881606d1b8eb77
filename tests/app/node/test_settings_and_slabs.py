"""Node settings from config.toml and the command line; slab reconstruction on Dask equals the whole."""

from __future__ import annotations

import numpy as np
import pytest

from app.config import config_from_dict, load_config
from app.errors import InputError
from app.node.settings import parse_allow, settings_from_config
from app.node.tasks import slab_grid, slabs


def test_node_table_of_config_toml_and_command_line_overrides(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(
        "[node]\nae_title = 'RECON1'\nport = 11200\npacs = 'archive'\nallow = ['MOD1@127.0.0.1', 'MOD2@*']\n"
        "workers = 2\nquiet_s = 12.5\npreview = false\nmethod = 'sart'\n"
        "[peers.archive]\nae_title = 'ARCHIVE'\nhost = '10.0.0.9'\nport = 104\n"
    )
    config = load_config(path)
    s = settings_from_config(config)
    assert (s.ae_title, s.port, s.workers, s.quiet_s, s.preview, s.method) == ("RECON1", 11200, 2, 12.5, False, "sart")
    assert (s.pacs.ae_title, s.pacs.host, s.pacs.port) == ("ARCHIVE", "10.0.0.9", 104)
    assert s.allows("MOD1", "127.0.0.1") and not s.allows("MOD1", "10.1.1.1") and s.allows("MOD2", "10.1.1.1")
    assert not s.allows("OTHER", "127.0.0.1") and not s.allows("mod1", "127.0.0.1")
    o = settings_from_config(config, port=0, pacs="PACS@localhost:4242", allow=["X@localhost"], method="FBP")
    assert (o.port, o.pacs.ae_title, o.pacs.port, o.method) == (0, "PACS", 4242, "fbp")
    assert o.allows("X", "127.0.0.1") and not o.allows("MOD1", "127.0.0.1")


@pytest.mark.parametrize(
    "data, overrides, words",
    [
        ({}, {}, "no PACS configured"),
        ({"node": {"pacs": "nowhere"}}, {}, "node.pacs: unknown PACS peer 'nowhere'"),
        ({}, {"pacs": "A@B"}, "--pacs: 'A@B' is not AE@HOST:PORT"),
        ({"node": {"pacs": "A@h:1", "allow": ["justahost"]}}, {}, "node.allow: 'justahost' is not AE@HOST"),
        ({"node": {"pacs": "A@h:1"}}, {"allow": ["THIS_AE_TITLE_IS_TOO_LONG@h"]}, "--allow"),
        ({"node": {"pacs": "A@h:1"}}, {"scheduler": "localhost:8786"}, "--scheduler"),
        ({"node": {"pacs": "A@h:1"}}, {"method": "magic"}, "--method: unknown method 'magic'"),
        ({"node": {"pacs": "A@h:1", "tls_cert": "/no/such.pem", "tls_key": "/no/such.key"}}, {}, "no such file"),
        ({"node": {"pacs": "A@h:1"}}, {"tls_cert": "/etc/hostname"}, "give both"),
    ],
)
def test_bad_settings_are_one_line_errors_naming_the_option(data, overrides, words):
    with pytest.raises(InputError) as err:
        settings_from_config(config_from_dict(data), **overrides)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_bad_node_table_values_name_the_key():
    for table, key in (
        ({"workers": 0}, "node.workers"),
        ({"quiet_s": -1}, "node.quiet_s"),
        ({"allow": "X@h"}, "node.allow"),
    ):
        with pytest.raises(InputError, match=key):
            config_from_dict({"node": table})
    with pytest.raises(InputError, match="cannot resolve"):
        parse_allow("MOD@no-such-host.invalid")


def test_slabs_cover_the_volume():
    assert slabs(10, 3) == [(0, 3), (3, 7), (7, 10)]
    assert slabs(2, 5) == [(0, 1), (1, 2)]
    assert slabs(7, 1) == [(0, 7)]
    with pytest.raises(ValueError):
        slabs(0, 1)


@pytest.fixture(scope="module")
def client():
    """An existing cluster reached over TCP, as ``--scheduler tcp://HOST:PORT`` does."""
    from distributed import LocalCluster

    from app.node.executor import close_client, make_client
    from app.node.settings import NodeSettings

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, protocol="tcp://", host="127.0.0.1", dashboard_address=None
    ) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        c = make_client(NodeSettings(scheduler=cluster.scheduler_address))
        yield c
        close_client(c)


def test_a_volume_stitched_from_slabs_on_two_workers_equals_the_whole_reconstruction(client):
    from app.node.executor import reconstruct_distributed
    from recon import VolumeGrid, reconstruct
    from recon.simulate import to_line_integrals
    from tests.app.node.helpers import simulated

    li = to_line_integrals(simulated(3))
    grid = VolumeGrid.for_geometry(li.geometry, li.metadata["thickness_mm"])
    whole = reconstruct(li.data, li.geometry, grid, method="fbp")
    assert np.abs(whole.data).max() > 1e-3
    for chunks in (2, 3, 7):
        vol = reconstruct_distributed(client, li.data, li.geometry, grid, method="fbp", chunks=chunks)
        assert vol.grid == grid and vol.metadata["slabs"] == chunks
        np.testing.assert_allclose(vol.data, whole.data, rtol=0, atol=1e-6 * float(np.abs(whole.data).max()))
    k0, k1 = 5, 9
    sub = slab_grid(grid, k0, k1)
    np.testing.assert_allclose(sub.z_mm, grid.z_mm[k0:k1])
    # the workers really shared the slabs
    assert len(client.nthreads()) == 2


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--pacs", "A@B", "--allow", "M@127.0.0.1"], "--pacs: 'A@B' is not AE@HOST:PORT"),
        (["--pacs", "A@h:1", "--allow", "M@127.0.0.1", "--tls-cert", "/etc/hostname"], "give both"),
        (["--pacs", "A@h:1", "--workers", "0"], "--workers: must be an integer >= 1"),
        (["--pacs", "A@h:1", "--method", "magic"], "--method: unknown method"),
    ],
)
def test_serve_with_bad_options_is_a_one_line_error(argv, words, capsys):
    from app.cli import main

    assert main(["node", "serve", *argv]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1


def test_status_of_an_empty_store_as_json(tmp_path, capsys):
    import json

    from app.cli import main

    assert main(["--store", str(tmp_path / "s"), "node", "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["counts"] == {"queued": 0, "running": 0, "done": 0, "failed": 0, "open": 0}
    assert status["throughput_per_hour"] == {"last_hour": 0.0, "last_day": 0.0}
    assert main(["--store", str(tmp_path / "s"), "node", "retry", "x"]) == 2
    assert "not a job id" in capsys.readouterr().err
