"""`python -m pulumi_cts.local ...`: the same as `pulumi-cts local ...`."""

from .cli import main

raise SystemExit(main())
