"""Hydra configs of ptune-exp; importing this package registers the typed schemas (`<group>/base`)."""

from ptune_exp.config.schema import register_schemas

register_schemas()
