"""ragteach: a small package behind notebooks that teach generative models.

Core logic (data, models, losses, training steps, metrics, the live session) never imports
Jupyter; only :mod:`ragteach.live.widgets` does, so everything else runs from a script or a test.
"""
from ragteach.config import by_mode, class_mode, mode_line, quick_mode, run_banner, use_class_mode
from ragteach.results import Results

__version__ = "0.1.0"
__all__ = ["quick_mode", "by_mode", "class_mode", "use_class_mode", "Results", "mode_line", "run_banner",
           "__version__"]
