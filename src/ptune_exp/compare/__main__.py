"""`python -m ptune_exp.compare`: the same as `ptune-exp-compare`."""

import sys

from ptune_exp.compare.cli import main

sys.exit(main())
