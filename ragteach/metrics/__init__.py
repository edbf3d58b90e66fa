"""The measurements every claim in the notebooks is checked with."""
