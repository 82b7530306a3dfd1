"""``python -m rfloc`` runs the command-line interface."""

from rfloc.cli import main

raise SystemExit(main())
