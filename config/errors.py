"""The one error configuration raises."""


class ConfigError(Exception):
    """The configuration cannot work; the message is one line for the operator."""
