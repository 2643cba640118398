"""``python -m progfusion.theory [--markdown] [--write FILE] [--readme README]``: the
same code as ``progfusion theory`` (:func:`progfusion.theory.render.run`)."""

from .render import main

raise SystemExit(main())
