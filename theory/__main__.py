"""``python -m progfusion.theory [--markdown] [--write PATH] [--readme PATH]``."""

from .claims import main

raise SystemExit(main())
