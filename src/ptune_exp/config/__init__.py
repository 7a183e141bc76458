"""Configuration: the typed schemas of every config group and the command line's own checks."""
