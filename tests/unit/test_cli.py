"""The command line: a compute has no way to be given a database."""
from __future__ import annotations

import pytest

from taskvisor.cli import main


def help_of(command: str, capsys) -> str:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    return capsys.readouterr().out


def test_compute_has_no_database_option(capsys):
    assert "--database" not in help_of("compute", capsys)
    with pytest.raises(SystemExit):
        main(["compute", "--database", "sqlite:///x.db"])
    assert "unrecognized arguments: --database" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["all-in-one", "api", "conductor", "db"])
def test_the_services_that_use_the_database_take_it(command, capsys):
    assert "--database" in help_of(command, capsys)
