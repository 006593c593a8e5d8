"""The README's examples are run as written, so that the output it shows is the output a user gets:
its `>>>` lines as doctests, its ```console blocks (`$ command` then the output) as commands. `...`
in a shown output stands for any text, as in doctest."""

import doctest
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.fixture(autouse=True)
def needs_the_shipped_model(shipped_ckpt):
    return shipped_ckpt


def console_blocks(text: str) -> list[tuple[str, str]]:
    """(command, the output shown below it) of every ```console block."""
    examples = []
    for block in re.findall(r"^```console\n(.*?)^```", text, re.M | re.S):
        for part in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, shown = part.partition("\n")
            examples.append((command, shown))
    return examples


def test_the_python_examples_print_what_the_readme_shows(monkeypatch):
    monkeypatch.chdir(ROOT)
    with open(README, encoding="utf-8") as f:
        text = re.sub(r"^```.*$", "", f.read(), flags=re.M)  # a fence ends an example's output
    test = doctest.DocTestParser().get_doctest(text, {}, "README.md", README, 0)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    runner.run(test)
    failed, tried = runner.summarize(verbose=False)
    assert tried >= 3 and failed == 0


def test_the_console_examples_print_what_the_readme_shows():
    with open(README, encoding="utf-8") as f:
        examples = console_blocks(f.read())
    assert examples, "the README shows no ```console example"
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
    checker = doctest.OutputChecker()
    for command, shown in examples:
        r = subprocess.run(
            command, shell=True, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        assert r.returncode == 0, f"$ {command}\n{r.stderr}"
        assert checker.check_output(shown, r.stdout, FLAGS), (
            f"$ {command}\nshown:\n{shown}got:\n{r.stdout}"
        )


def test_console_blocks_are_read_as_commands_and_outputs():
    text = "```console\n$ echo a\na\n$ echo b\nb\n```\n"
    assert console_blocks(text) == [("echo a", "a\n"), ("echo b", "b\n")]
