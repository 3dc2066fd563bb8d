"""`python -m edm_client`: the `edm` command line."""

from edm_client._cli import main

raise SystemExit(main())
