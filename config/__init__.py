"""Settings: plain values read from the environment once, by the composition root."""
