"""mogan-valence-engine: not part of this release yet."""

import sys


def main(argv: list[str] | None = None) -> int:
    # NOTE: the entry point is declared so that packaging is final; the
    # command itself arrives with its own change.
    print("mogan-valence-engine is not available in this release yet.", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
