"""ragteach: a small package behind notebooks that teach generative models.

Core logic (data, models, losses, training steps, metrics, the live session) never imports
Jupyter; only :mod:`ragteach.live.widgets` does, so everything else runs from a script or a test.
"""
from ragteach.config import by_mode, mode_line, quick_mode, run_banner

__version__ = "0.1.0"
__all__ = ["quick_mode", "by_mode", "mode_line", "run_banner", "__version__"]
