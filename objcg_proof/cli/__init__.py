"""The command line: `objcg-prove` and its subcommands (dispatch), the options every command
shares (options), verdicts and traces as terminal text or JSON (report), and the gate's commands
(gate). `objcg_proof.cli.main(argv, stdout, stderr)` runs one command line and returns its exit
status.
"""

from __future__ import annotations

from typing import TextIO


def main(argv: list[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run one command line (dispatch.main); imported on use, so `cli.options` stays light."""
    from .dispatch import main as run
    return run(argv, stdout, stderr)
