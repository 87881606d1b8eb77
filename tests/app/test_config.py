"""config.toml: location, defaults, round trip, one-line errors naming the key, the CLI that edits it."""

from __future__ import annotations

import tomllib

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.cli import main
from app.config import (
    Config,
    LocalAE,
    Peer,
    Preferences,
    config_path,
    dumps_toml,
    load_config,
    save_config,
)
from app.errors import InputError


def test_config_lives_in_the_user_config_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_path() == tmp_path / "xdg" / "crescent" / "config.toml"


def test_missing_file_means_defaults():
    config = load_config()
    assert config == Config()
    assert (config.local.ae_title, config.local.port, config.node.port, config.peers) == ("CRESCENT", 11112, 11113, ())


def test_round_trip_through_the_file():
    config = (
        Config(local=LocalAE(ae_title="WS1", host="127.0.0.1", port=4000, timeout_s=5))
        .with_peer(Peer("main", "ORTHANC", "pacs.example.org", 4242))
        .with_peer(Peer("backup-2", "ARCH", "10.0.0.2", 104))
    )
    config = Config(
        config.local, config.node, Preferences(reader_name='Dr "Q" \\ Smith\tMD', cad_mark_min_score=55.5), config.peers
    )
    path = save_config(config)
    assert path == config_path()
    assert load_config() == config
    assert load_config().peer("main").port == 4242
    assert load_config().without_peer("main").peers == (Peer("backup-2", "ARCH", "10.0.0.2", 104),)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[peers.pacs]\nae_title = 'A'\nhost = 'h'\nport = 'x'\n", "peers.pacs.port"),
        ("[peers.pacs]\nae_title = 'A'\nhost = 'h'\nport = 70000\n", "peers.pacs.port"),
        ("[peers.pacs]\nae_title = 'A'\nhost = 'h'\n", "peers.pacs.port: missing"),
        ("[peers.pacs]\nae_title = 'THIS_IS_LONGER_THAN_16'\nhost = 'h'\nport = 1\n", "peers.pacs.ae_title"),
        ("[peers.pacs]\nae_title = 'A'\nhost = 'h'\nport = 1\nprot = 2\n", "peers.pacs.prot: unknown key"),
        ("[local]\nport = -1\n", "local.port"),
        ("[local]\ntimeout_s = 0\n", "local.timeout_s"),
        ("[node]\nae_title = 'A\\\\B'\n", "node.ae_title"),
        ("[preferences]\nreader_name = 3\n", "preferences.reader_name"),
        ("[preferences]\ncad_mark_min_score = 101\n", "preferences.cad_mark_min_score"),
        ("[preferences]\ncad_mark_min_score = 'high'\n", "preferences.cad_mark_min_score"),
        ("[colours]\nx = 1\n", "colours: unknown section"),
        ("local = 3\n", "local: must be a table"),
        ("[local\nport = 1\n", "not valid TOML"),
    ],
)
def test_bad_config_is_one_line_naming_file_and_key(text, key):
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_config()
    message = str(info.value)
    assert message.startswith(str(path)) and key in message and "\n" not in message


def test_unknown_peer_lists_the_configured_ones():
    config = Config().with_peer(Peer("a", "A", "h", 1)).with_peer(Peer("b", "B", "h", 2))
    with pytest.raises(InputError, match="unknown PACS peer 'c' \\(configured: a, b"):
        config.peer("c")


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)
_scalar = st.one_of(
    _text, st.integers(-(2**63), 2**63 - 1), st.booleans(), st.floats(allow_nan=False, allow_infinity=False)
)
_leaf = st.dictionaries(_text, st.one_of(_scalar, st.lists(_scalar, max_size=3)), max_size=4)


@settings(max_examples=60, deadline=None)
@example({"0\n": {}, "a": {"b\n": 1}})  # a key ending in a newline must be quoted
@given(st.dictionaries(_text, st.one_of(_leaf, st.dictionaries(_text, _leaf, max_size=3)), max_size=4))
def test_toml_writer_round_trips_through_tomllib(data):
    assert tomllib.loads(dumps_toml(data)) == data


def test_cli_adds_lists_and_removes_peers(capsys):
    assert main(["pacs", "add", "main", "ORTHANC", "127.0.0.1", "4242"]) == 0
    assert main(["pacs", "peers"]) == 0
    assert "main\tORTHANC@127.0.0.1:4242" in capsys.readouterr().out
    assert load_config().peer("main") == Peer("main", "ORTHANC", "127.0.0.1", 4242)
    assert main(["pacs", "add", "bad", "ORTHANC", "127.0.0.1", "99999"]) == 2
    assert "peers.bad.port" in capsys.readouterr().err
    assert main(["pacs", "remove", "main"]) == 0
    assert load_config().peers == ()
    assert main(["pacs", "remove", "main"]) == 2


def test_names_and_uids_ending_in_a_newline_are_refused():
    with pytest.raises(InputError, match="peer name"):
        Peer("pacs\n", "ORTHANC", "h", 1)
    from app.store.store import _UID

    assert _UID.match("1.2.3") and not _UID.match("1.2.3\n")
