"""Datasets that load offline: generated 2D mixtures and scikit-learn's 8x8 digits."""
