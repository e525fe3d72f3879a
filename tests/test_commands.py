"""The one command table (:mod:`synthtumor.commands`) and the one error mapper behind ``main``."""

from __future__ import annotations

import argparse
import json
import pkgutil
import re
import subprocess
import sys

import pytest

import synthtumor.cli_errors
import synthtumor.commands
from synthtumor.cli import build_parser, main
from synthtumor.commands import COMMANDS, Command, register_command

PREFIX = "synthtumor: error: "
NAME_LINE = re.compile(r"^ {4}(\S+)")  # a command's line of the help (not its continuation)
EXPECTED = [
    "synthesize", "demo", "prepare", "train", "predict", "evaluate", "robustness", "turing",
    "realism", "calibrate",
]  # fmt: skip


@pytest.fixture
def table():
    """COMMANDS as it was before the test, whatever the test registers."""
    before = dict(COMMANDS)
    yield COMMANDS
    COMMANDS.clear()
    COMMANDS.update(before)


def command_modules() -> list[str]:
    path = synthtumor.commands.__path__
    return sorted(info.name for info in pkgutil.iter_modules(path) if not info.name.startswith("_"))


def listed_commands(help_text: str) -> list[str]:
    """The names of the ``commands:`` section of ``synthtumor --help``, in order."""
    section = help_text.split("\ncommands:\n", 1)[1].split("\n\n", 1)[0]
    return [match[1] for line in section.splitlines() if (match := NAME_LINE.match(line))]


def test_the_table_holds_every_command_module_once_in_the_help_order():
    assert list(COMMANDS) == EXPECTED
    modules = {name: getattr(synthtumor.commands, name).COMMAND for name in command_modules()}
    assert sorted(modules) == sorted(COMMANDS)
    for name, command in COMMANDS.items():
        assert command is modules[name], name
        assert isinstance(command, Command)
    names = [*COMMANDS, *(alias for c in COMMANDS.values() for alias in c.aliases)]
    assert len(names) == len(set(names)) and "benchmark" in names


def test_help_lists_every_command_once_in_the_table_order(capsys):
    assert main(["--help"]) == 0
    assert listed_commands(capsys.readouterr().out) == list(COMMANDS)


def test_each_parser_runs_the_handler_of_its_table_entry():
    parser = build_parser()
    arguments = {
        "synthesize": ["ct.nii.gz", "liver.nii.gz", "-o", "out"],
        "demo": ["-o", "out"],
        "prepare": ["data", "-o", "out"],
        "train": ["-o", "run"],
        "predict": ["best.pt", "ct.nii.gz", "-o", "out"],
        "evaluate": ["pred", "gt", "-o", "report"],
        "robustness": ["best.pt", "-o", "out"],
        "turing": ["score", "ratings.csv", "key.csv"],
        "realism": ["ct.nii.gz", "label.nii.gz"],
        "calibrate": ["data", "-o", "tumor.toml"],
    }
    assert sorted(arguments) == sorted(COMMANDS)
    for name, rest in arguments.items():
        assert parser.parse_args([name, *rest]).handler is COMMANDS[name].handle, name
    alias = parser.parse_args(["benchmark", "best.pt", "-o", "out"])
    assert alias.handler is COMMANDS["robustness"].handle


def test_an_unknown_command_exits_2_with_the_usage(capsys):
    assert main(["no-such-command"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: synthtumor")
    assert "invalid choice: 'no-such-command'" in err and "Traceback" not in err


def test_a_handler_raising_a_user_error_exits_2_through_run_handler(table, capsys, monkeypatch):
    mapped = []
    run_handler = synthtumor.cli_errors.run_handler

    def spy(handler, args, **kwargs):
        mapped.append(args.handler)
        return run_handler(handler, args, **kwargs)

    def fail(args: argparse.Namespace) -> int:
        raise ValueError(f"LABEL must be a NIfTI file, got {args.label!r}")

    monkeypatch.setattr(synthtumor.cli_errors, "run_handler", spy)
    register_command("fails", Command("always fails", lambda p: p.add_argument("label"), fail))
    assert main(["fails", "notes.txt"]) == 2
    assert capsys.readouterr().err == f"{PREFIX}LABEL must be a NIfTI file, got 'notes.txt'\n"
    assert mapped == [fail]
    assert main(["demo", "-o", "unused", "--count", "0"]) == 2  # a usage error: no handler runs
    assert mapped == [fail]


def test_register_command_adds_a_command_to_the_parser_and_the_help(table, capsys):
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("who")

    def hello(args: argparse.Namespace) -> int:
        print(f"hello {args.who}")
        return 0

    register_command("hello", Command("say hello", add_arguments, hello, aliases=("hi",)))
    assert list(COMMANDS)[-1] == "hello"
    assert main(["hi", "world"]) == 0
    assert capsys.readouterr().out == "hello world\n"
    assert main(["--help"]) == 0
    assert listed_commands(capsys.readouterr().out)[-1] == "hello"


def test_register_command_refuses_a_taken_name_or_alias_and_a_non_command(table):
    command = COMMANDS["demo"]

    def fail(args: argparse.Namespace) -> int:
        raise AssertionError("never runs")

    with pytest.raises(ValueError, match="command 'demo' is already registered"):
        register_command("demo", command)
    with pytest.raises(ValueError, match="command 'benchmark' is already registered"):
        register_command("benchmark", command)
    with pytest.raises(ValueError, match="command 'train' is already registered"):
        register_command(
            "new", Command("x", lambda parser: None, lambda args: 0, aliases=("train",))
        )
    with pytest.raises(TypeError, match=r"command must be a synthtumor\.commands\.Command"):
        register_command("new", (command.add_arguments, fail))  # type: ignore[arg-type]
    assert list(COMMANDS) == EXPECTED


def test_python_m_train_is_the_train_command(capsys):
    from synthtumor.reference.train import main as train_main

    assert train_main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: synthtumor train")
    assert "Several GPUs: torchrun --nproc_per_node N" in " ".join(out.split())
    assert "--print-config" in out


def test_importing_the_cli_and_building_its_parser_imports_no_framework():
    code = (
        "import json, sys; import synthtumor.cli as cli; cli.build_parser(); "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'torch', 'monai', 'torchio', 'matplotlib'} or m.startswith('synthtumor.reference'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == []
