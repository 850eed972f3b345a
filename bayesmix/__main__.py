"""``python -m bayesmix``: the same as the ``bayesmix`` command."""

from bayesmix.cli import main

raise SystemExit(main())
