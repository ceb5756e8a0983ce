"""``python -m logpager.cli``: the ``logpager`` command."""

from __future__ import annotations

import sys

from logpager.cli.main import main

sys.exit(main())
