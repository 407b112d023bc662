"""``python -m reltext``: the command line, where the console script is not on the PATH."""

from .cli import main

main()
