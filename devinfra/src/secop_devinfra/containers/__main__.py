"""``python -m secop_devinfra.containers provision|images [services...]|env|down``."""

from secop_devinfra.containers import main

raise SystemExit(main())
