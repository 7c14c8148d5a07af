"""Running a command in a real pseudo-terminal (stdout and stderr both the terminal), for tests of
what the CLI prints to a terminal."""

import os
import pty
import subprocess


def run_in_pty(argv: list[str], env: dict | None = None) -> str:
    main, child = pty.openpty()
    proc = subprocess.Popen(argv, stdout=child, stderr=child, env=env)
    os.close(child)
    out = b""
    while True:
        try:
            data = os.read(main, 4096)
        except OSError:
            break
        if not data:
            break
        out += data
    proc.wait(timeout=60)
    os.close(main)
    return out.decode(errors="replace")
