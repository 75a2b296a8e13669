"""``python -m refglm``: the ``refglm`` command."""

import sys

from refglm.cli import main

sys.exit(main())
