"""Draw every course figure: run each ``img/fig_*.py`` script, from the repository root.

Usage::

    python img/draw_all.py            # all figures
    python img/draw_all.py fig_03     # only scripts whose name starts with fig_03

Each script draws one or more PNGs next to itself, deterministically, so the images in img/ can always be
rebuilt from their code. A script that fails stops the run with its error.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

IMG = Path(__file__).resolve().parent


def draw_all(prefix: str = "fig_") -> list[Path]:
    """Run every ``img/<prefix>*.py`` script with the current Python; return the scripts that ran.

    Args:
        prefix: only scripts whose file name starts with it (default: all figure scripts).

    Returns:
        The scripts, in name order.
    """
    if not prefix.startswith("fig_"):
        raise ValueError(
            f"prefix {prefix!r} must start with 'fig_' (figure scripts are named img/fig_NN_*.py)"
        )
    scripts = sorted(IMG.glob(f"{prefix}*.py"))
    if not scripts:
        raise FileNotFoundError(f"no figure scripts img/{prefix}*.py")
    root = IMG.parent  # scripts are run from the repository root, as documented
    for script in scripts:
        start = time.perf_counter()
        subprocess.run([sys.executable, str(script.relative_to(root))], cwd=root, check=True)
        print(f"drew {script.name} ({time.perf_counter() - start:.1f} s)")
    return scripts


if __name__ == "__main__":
    draw_all(sys.argv[1] if len(sys.argv) > 1 else "fig_")
