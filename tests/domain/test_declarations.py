"""The talent and the demand are declared once (``domain/talent.py``, ``domain/demand.py``); every typed
class that also lists their fields must agree with the declaration, so adding an attribute in one place
and forgetting another fails here."""

from __future__ import annotations

import dataclasses
import typing

from sqlalchemy import inspect

from api.schemas import DemandIn, DemandPatch, TalentSelfPatch
from matcher.domain import demand, talent
from matcher.domain.facts import TalentFacts
from matcher.storage.models import Demand, Talent
from matcher.views import DemandView, TalentView

#: Columns of the talent row that are bookkeeping, not attributes of the person (status, consent, audit).
TALENT_BOOKKEEPING = {"id", "consent_propose", "consent_contact", "consent_propose_version", "withdrawn_at",
                      "merged_into_id", "self_corrected", "created_at", "updated_at"}
#: Facts the service derives instead of copying (services/pool/facts.to_facts).
DERIVED_FACTS = {"id", "text", "load", "same_person", "consented_modes", "graded_history"}
#: What the view adds to the declared fields: the id and how the caller may see the record.
VIEW_EXTRAS = {"id", "contact_masked", "contact_via_office", "consent_propose", "consent_contact"}


def test_every_declared_talent_field_is_a_column_and_every_column_is_declared() -> None:
    columns = {c.key for c in inspect(Talent).columns}
    assert {f.name for f in talent.FIELDS} == columns - TALENT_BOOKKEEPING


def test_the_engines_facts_are_the_declared_engine_fields() -> None:
    facts = {f.name for f in dataclasses.fields(TalentFacts)}
    assert set(talent.ENGINE) == facts - DERIVED_FACTS


def test_the_view_shows_the_declared_view_fields() -> None:
    assert set(TalentView.model_fields) == set(talent.VIEW) | VIEW_EXTRAS


def test_the_self_correction_model_is_the_talent_editable_fields() -> None:
    assert set(TalentSelfPatch.model_fields) == set(talent.SELF_EDITABLE)
    assert all(talent.BY_NAME[n].patch is not None for n in talent.SELF_EDITABLE)
    assert all(f.patch is None for f in talent.FIELDS if f.name not in talent.SELF_EDITABLE)


def test_the_import_spec_is_derived_and_contact_fields_are_personal() -> None:
    assert [c.name for c in talent.COLUMNS] == [f.name for f in talent.FIELDS if f.column is not None]
    assert {c.name for c in talent.COLUMNS if c.contact} == set(talent.CONTACT)
    assert talent.CONTACT <= talent.PERSONAL
    # what withdrawal keeps is what docs/privacy.md promises: the list number and the categories
    assert {"external_id", "institution_type", "title_level", "sector", "active"} == talent.KEPT_AFTER_WITHDRAWAL


def test_the_demand_declaration_matches_its_row_view_and_request_models() -> None:
    stored = {f.name for f in demand.FIELDS if f.stored}
    columns = {c.key for c in inspect(Demand).columns}
    assert stored <= columns, stored - columns
    assert stored <= set(DemandView.model_fields)
    assert set(demand.EDITABLE) == set(DemandPatch.model_fields)
    assert set(demand.EDITABLE) | {"external_id"} == set(DemandIn.model_fields)
    for name in demand.EDITABLE:  # a field may be cleared by a patch only if it may be absent when posting
        required_in = DemandIn.model_fields[name].is_required()
        assert not required_in or name in DemandPatch.not_null, name


def test_the_consoles_labels_come_from_the_declarations() -> None:
    from api.forms import LABELS

    assert all(LABELS[name] == text for name, text in {**talent.LABELS, **demand.LABELS}.items())
    assert typing.get_type_hints(talent.TalentField)  # the declaration itself is typed
