"""Where the notebooks are: every test discovers them by globbing notebooks/, so a new
notebook is covered.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
