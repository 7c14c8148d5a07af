"""The CLI strips terminal control sequences from what it prints to a terminal (a job's output
or a name chosen by a member could clear the screen, retitle the window or hide a line); piped
output stays as it is. Run in a real pseudo-terminal."""

import subprocess
import sys

from trainshed.cli.common import strip_controls

from tests.client.pty_run import run_in_pty

HOSTILE = "ok\x1b[2J\x1b]0;pwned\x07\x1b[31mred\x1b[0m\rfake\x9b1;1H\x07end\n"
SCRIPT = ("import sys; from trainshed.cli.common import echo, table; "
          "echo(sys.argv[1], nl=False); echo(table(['NAME'], [[sys.argv[1].strip()]]))")


def test_strip_controls_keeps_text_newlines_and_tabs():
    assert strip_controls(HOSTILE) == "okredfakeend\n"
    assert strip_controls("a\tb\r\nc") == "a\tb\nc"


def _run_in_pty(arg: str) -> str:
    return run_in_pty([sys.executable, "-c", SCRIPT, arg])


def test_printing_to_a_terminal_strips_control_sequences():
    out = _run_in_pty(HOSTILE)
    assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out
    assert "okredfakeend" in out


def test_piped_output_is_left_alone():
    # (click itself drops colour codes when not on a terminal; the rest is passed through)
    out = subprocess.run([sys.executable, "-c", SCRIPT, HOSTILE], capture_output=True).stdout.decode()
    assert "\rfake\x9b1;1H\x07end" in out
