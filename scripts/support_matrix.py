"""Print the support matrix (architecture x method) that docs/models.md shows under "## Support matrix".

    python scripts/support_matrix.py

Generated from src/ptune_exp/injection/support.py; tests/test_backbones.py fails while the page's copy differs.
"""

from ptune_exp.injection import render_matrix
from ptune_exp.methods import METHODS

if __name__ == "__main__":
    print(render_matrix(METHODS.values()), end="")
