"""mogan-valence: the operator CLI (see mogan_valence.cli.shell)."""

import sys

from mogan_valence.cli import shell


def main(argv: list[str] | None = None) -> int:
    return shell.main(argv)


if __name__ == "__main__":
    sys.exit(main())
