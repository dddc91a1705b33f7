"""`python -m objcg_proof` and the `objcg-prove` command: `cli.entry`, with a Ctrl-C that comes
while the modules are still loading reported as any other (one line, exit status 130).

While the modules load, the cyclic garbage collector is off, and what they created is then
frozen (`gc.freeze`: left out of every later collection). Loading creates thousands of objects
that live as long as the process (the DSL's classes, z3's and lark's tables) and next to no
garbage; collections that scan them again and again are 2-3% of a small model's run.
"""

import gc
import sys


def entry() -> None:
    gc.disable()
    try:
        from .cli.dispatch import entry as run
    except KeyboardInterrupt:
        sys.stderr.write("objcg-prove: interrupted\n")
        sys.exit(130)
    finally:
        gc.freeze()
        gc.enable()
    run()


if __name__ == "__main__":
    entry()
