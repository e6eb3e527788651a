"""``python -m jaxloss``: the same as the ``jaxloss`` command."""

from ._cli import main

raise SystemExit(main())
