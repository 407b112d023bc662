"""``python -m reltext.cli``: the same as the ``reltext`` command."""

from . import main

main()
