"""Variational autoencoders: the model, its ELBO, and a training step."""
