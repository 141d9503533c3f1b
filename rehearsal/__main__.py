"""``python -m rehearsal``: see :mod:`rehearsal.cli`."""

from rehearsal.cli import main

raise SystemExit(main())
