from datetime import date

import pytest
from sqlalchemy import inspect, select

from matcher.storage.db import Database
from matcher.storage.models import AuditEvent, Demand, Enterprise, Match, Talent
from tests.conftest import fresh_database_url


@pytest.mark.db
def test_migration_upgrades_an_empty_database(tmp_path) -> None:
    db = Database(fresh_database_url(tmp_path, "empty"))
    db.upgrade()
    tables = set(inspect(db.engine).get_table_names())
    assert {"enterprises", "intermediaries", "demands", "talents", "users", "matches", "audit_events",
            "alembic_version"} <= tables
    db.upgrade()  # idempotent


def test_models_round_trip_json_columns(db: Database) -> None:
    with db.session() as s:
        e = Enterprise(name="太原重型机械集团有限公司", city="太原", industry_code="3516")
        s.add(e)
        s.flush()
        s.add(Demand(external_id="D1", enterprise=e, title="轧机振动", description="冷连轧机组振纹",
                     keywords=["轧机", "振动"], modes=["tech_vp", "flexible"], deadline=date(2027, 3, 1)))
        s.add(Talent(external_id="T1", name="张伟", profile="轧机振动研究", mode_capacity={"tech_vp": 1},
                     province_ties=["born"], discipline_codes=["E0503"]))
    with db.session() as s:
        d = s.scalar(select(Demand))
        t = s.scalar(select(Talent))
        assert d is not None and t is not None
        assert d.modes == ["tech_vp", "flexible"] and d.enterprise.name.startswith("太原重型")
        assert t.mode_capacity == {"tech_vp": 1} and t.province_ties == ["born"]
        assert "研究领域" not in t.embedding_text()  # no fields, no empty label


def test_session_rolls_back_on_error(db: Database) -> None:
    try:
        with db.session() as s:
            s.add(Enterprise(name="甲"))
            s.flush()
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with db.session() as s:
        assert s.scalar(select(Enterprise)) is None


def test_match_unique_per_demand_talent_mode(db: Database) -> None:
    import pytest
    from sqlalchemy.exc import IntegrityError

    with db.session() as s:
        e = Enterprise(name="乙")
        s.add(e)
        s.flush()
        d = Demand(external_id="D", enterprise=e, title="t", description="d")
        t = Talent(external_id="T", name="n", profile="p")
        s.add_all([d, t])
        s.flush()
        s.add(Match(demand_id=d.id, talent_id=t.id, mode="flexible"))
        s.add(AuditEvent(action="x", entity="match", entity_id="1"))
    with pytest.raises(IntegrityError), db.session() as s:
        s.add(Match(demand_id=d.id, talent_id=t.id, mode="flexible"))


def test_migrations_match_the_models(db) -> None:  # type: ignore[no-untyped-def]
    """Alembic's head creates exactly the schema the models declare (nothing missing, nothing extra)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from matcher.storage.models import Base

    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
