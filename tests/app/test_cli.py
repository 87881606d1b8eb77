import subprocess
import sys

from app import __version__
from app.cli import main


def test_version(capsys):
    try:
        main(["--version"])
    except SystemExit as exc:
        assert exc.code == 0
    assert __version__ in capsys.readouterr().out


def test_help_lists_subcommands():
    out = subprocess.run([sys.executable, "-m", "app", "--help"], capture_output=True, text=True, check=True).stdout
    assert "view" in out


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def test_gui_without_display_is_one_line_error(monkeypatch):
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}
    res = subprocess.run(
        [sys.executable, "-m", "app", "view", "--screenshot", "/tmp/x.png"], capture_output=True, text=True, env=env
    )
    assert res.returncode == 1
    assert res.stderr.count("\n") == 1 and "no display" in res.stderr
    assert "Traceback" not in res.stderr
