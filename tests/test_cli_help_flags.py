"""`gmgclim --help` shows the root flags as plain flags, not `--version <bool>`."""

from typer.testing import CliRunner

from gmgclim.cli import app


def test_root_flags_have_no_type_label():
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0
    for flag in ("--version", "--debug"):
        line = next(line for line in result.output.splitlines() if flag in line)
        assert "<bool>" not in line, line
