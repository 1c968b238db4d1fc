"""``python -m tumen``: the same command as ``tumen`` (the background baker starts this way)."""

from tumen.cli import main

main()
