"""One module per notebook: its recipe, its experiments, its tables and its verdicts.

The models, losses, trainers and previews a lesson uses live in the model packages (``ragteach.gan``,
``ragteach.gpt``, ``ragteach.retrieval``, ``ragteach.vae``); what a notebook does with them lives here.
"""
