"""The reference pipeline's commands are reachable from the ``synthtumor`` command line."""

from __future__ import annotations

import pytest

from synthtumor.cli import main

COMMANDS = ["prepare", "train", "predict", "evaluate", "robustness", "turing"]


@pytest.mark.parametrize("command", COMMANDS)
def test_each_reference_command_has_help(command, capsys):
    assert main([command, "--help"]) == 0
    assert f"synthtumor {command}" in capsys.readouterr().out


def test_top_level_help_lists_every_command(capsys):
    assert main(["--help"]) == 0
    listed = capsys.readouterr().out
    for command in ["synthesize", "demo", *COMMANDS]:
        assert command in listed


def test_train_with_a_missing_config_is_one_clear_error(tmp_path, capsys):
    code = main(["train", str(tmp_path / "missing.toml"), "-o", str(tmp_path / "run")])
    error = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(error) == 1 and error[0].startswith("synthtumor: error: bad config ")
    assert "missing.toml" in error[0]
    assert not (tmp_path / "run").exists()


def test_a_missing_extra_is_named_with_the_install_command(tmp_path, capsys, monkeypatch):
    import sys
    from pathlib import Path

    smoke = Path(__file__).resolve().parents[1] / "configs" / "smoke.toml"
    monkeypatch.setitem(sys.modules, "torch", None)  # as if torch were not installed
    code = main(["train", str(smoke), "-o", str(tmp_path / "run")])
    error = capsys.readouterr().err
    assert code == 2
    assert "needs torch" in error and "pip install 'synthtumor[reference]'" in error
    assert not (tmp_path / "run").exists()


def test_python_m_train_reports_errors_like_the_cli(tmp_path, capsys):
    """``python -m synthtumor.reference.train`` (what torchrun starts) shares the error path."""
    from synthtumor.reference.train import main as train_main

    code = train_main([str(tmp_path / "missing.toml"), "-o", str(tmp_path / "run")])
    error = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(error) == 1 and error[0].startswith("synthtumor: error: bad config ")
    assert not (tmp_path / "run").exists()
