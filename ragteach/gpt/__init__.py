"""A tiny character-level GPT whose MLP neurons fire with probability p (notebook 03)."""
