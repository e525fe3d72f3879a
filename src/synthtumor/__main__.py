"""``python -m synthtumor``: the same command line as the ``synthtumor`` script."""

from synthtumor.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
