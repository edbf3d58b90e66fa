"""The live-training engine: knobs, a session that trains in the background, and previews.

``ragteach.live.widgets`` (the only module that imports ipywidgets) is not imported here on purpose.
"""
from ragteach.knobs import Knob, Knobs
from ragteach.live.session import TrainingSession, TrainingError

__all__ = ["Knob", "Knobs", "TrainingSession", "TrainingError"]
