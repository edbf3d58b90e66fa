"""Generative adversarial networks: models, losses, the randomisations, and a training step."""
