"""`python -m objcg_proof` and the `objcg-prove` command: `cli.entry`, with a Ctrl-C that comes
while the modules are still loading reported as any other (one line, exit status 130)."""

import sys


def entry() -> None:
    try:
        from .cli.dispatch import entry as run
    except KeyboardInterrupt:
        sys.stderr.write("objcg-prove: interrupted\n")
        sys.exit(130)
    run()


if __name__ == "__main__":
    entry()
