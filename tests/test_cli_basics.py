"""The gmgclim entry point: --help, --version, and one-line errors."""

import subprocess
import sys

from gmgclim import __version__


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gmgclim", *args], capture_output=True, text=True, timeout=120
    )


def test_version():
    result = _run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"gmgclim {__version__}"


def test_help_lists_commands():
    result = _run("--help")
    assert result.returncode == 0
    assert "Usage" in result.stdout
    assert "data" in result.stdout


def test_unknown_command_is_a_usage_error():
    result = _run("no-such-command")
    assert result.returncode == 2
    assert "no-such-command" in result.stderr
