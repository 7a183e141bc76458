"""Task families: one `Family` instance per family key (the interface is in `base.py`)."""

from ptune_exp.tasks.families.base import Family
from ptune_exp.tasks.families.candidates import Candidates
from ptune_exp.tasks.families.classification import Classification
from ptune_exp.tasks.families.multiple_choice import MultipleChoice
from ptune_exp.tasks.families.qa import QA
from ptune_exp.tasks.families.srl import SRL
from ptune_exp.tasks.families.tagging import Tagging

FAMILIES: dict[str, Family] = {
    family.key: family for family in (Candidates(), Classification(), MultipleChoice(), QA(), SRL(), Tagging())
}


def family_of(spec) -> Family:
    """The family that trains `spec` (by `spec.family`)."""
    return FAMILIES[spec.family]


__all__ = ["FAMILIES", "Family", "family_of"]
