"""The demo generator: deterministic, realistic enough to read, labels consistent with construction."""

from collections import Counter

import pytest
from sqlalchemy import func, select

from matcher.demo import generator
from matcher.demo.catalogue import TOPICS
from matcher.demo.generator import CITIES
from matcher.reference import industry_codes, is_valid_credit_code, nsfc_codes
from matcher.storage.models import Demand, Enterprise, Talent
from matcher.tools.seeding import seed_demo, write_eval_dataset

SEED = 20261126


def test_talents_are_deterministic_and_independent_of_count() -> None:
    a = [generator.talent(SEED, i) for i in range(50)]
    b = list(generator.iter_talents(SEED, 120))[:50]
    assert a == b
    assert generator.talent(SEED + 1, 0) != a[0]


def test_demo_talents_read_like_profiles() -> None:
    rows = [generator.talent(SEED, i)[0] for i in range(2000)]
    profiles = [r["profile"] for r in rows]
    assert len(set(profiles)) == len(profiles), "duplicate profiles"
    assert len({r["external_id"] for r in rows}) == 2000
    assert {r["sector"] for r in rows} == {t.sector for t in TOPICS}
    in_province_cities = {r["city"] for r in rows if r["in_province"]}
    assert len(in_province_cities & set(CITIES)) >= 6
    kinds = Counter(r["institution_type"] for r in rows)
    assert kinds["university"] > kinds["institute"] > 0 and kinds["enterprise"] > 0 and kinds["overseas"] > 0
    for r in rows:
        assert all(c in nsfc_codes() for c in r["discipline_codes"])
        assert r["mode_capacity"], "every talent accepts at least one mode"
        if "tech_vp" in r["mode_capacity"]:
            assert r["institution_type"] in ("university", "institute")
            assert r["title_level"] in ("senior", "associate")
        assert r["research_fields"][0] in r["profile"]
        assert "{" not in r["profile"] and "}" not in r["profile"], "unfilled template slot"


def test_demands_cover_sectors_cities_and_fit_their_posters() -> None:
    companies = generator.enterprises(SEED)
    rows, labels = generator.demands(SEED, 300, companies)
    assert {r["sector"] for r in rows} == {t.sector for t in TOPICS}
    assert len({r["city"] for r in rows}) >= 9
    assert len({r["title"] for r in rows}) == 300, "titles repeat"
    problems = {(lab.topic, r["description"][:20]) for r, lab in zip(rows, labels, strict=True)}
    assert len(problems) == sum(len(t.problems) for t in TOPICS), "every problem is used"
    by_name = {c["name"]: c for c in companies}
    for r, lab in zip(rows, labels, strict=True):
        poster = by_name[r["enterprise"]]
        marks = generator.POSTERS[lab.topic]
        assert any(m in poster["name"] for m in marks), (lab.topic, poster["name"])
        assert r["industry_code"] in industry_codes()
        assert r["budget_min"] < r["budget_max"]
    assert all(is_valid_credit_code(c["credit_code"]) for c in companies)


def test_qrels_grades_follow_construction() -> None:
    talents = [generator.talent(SEED, i)[1] for i in range(300)]
    _, demands = generator.demands(SEED, 20, generator.enterprises(SEED))
    labels = generator.qrels(demands, talents)
    group = {t.key: t.group for t in TOPICS}
    assert labels
    for d, t, g in labels:
        if g == 3:
            assert talents[t].topic == demands[d].topic and demands[d].methods <= talents[t].methods
        elif g == 2:
            assert talents[t].topic == demands[d].topic and not demands[d].methods <= talents[t].methods
        else:
            assert g == 1 and talents[t].topic != demands[d].topic
            assert group[talents[t].topic] == group[demands[d].topic]


def test_seed_writes_demo_and_is_idempotent(db) -> None:
    first = seed_demo(db, talents=150, demands=20, seed=SEED, batch_size=40, progress=False, log=lambda m: None)
    assert first["seeded"] == 1
    again = seed_demo(db, talents=150, demands=20, seed=SEED, progress=False, log=lambda m: None)
    assert again["seeded"] == 0
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Talent)) == 150
        assert s.scalar(select(func.count()).select_from(Demand)) == 20
        employed = s.scalars(select(Talent).where(Talent.institution_type == "enterprise")).all()
        assert employed and all(t.employer_enterprise_id for t in employed)
        assert s.scalar(select(func.count()).select_from(Enterprise)) > 40


def test_eval_dataset_is_in_import_format(tmp_path, db) -> None:
    from matcher.services.files.importing import import_file

    counts = write_eval_dataset(tmp_path, talents=60, demands=10, seed=SEED)
    assert counts["talents"] == 60 and counts["qrels"] > 0
    assert "phone" not in (tmp_path / "talents.csv").read_text(encoding="utf-8").splitlines()[0]
    assert import_file(db, "talents", tmp_path / "talents.csv").ok
    assert import_file(db, "demands", tmp_path / "demands.csv").ok


@pytest.mark.db
def test_prepare_seeds_the_demo_only_into_a_database_it_creates(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``make serve`` gets its demo; a configured database — an empty production PostgreSQL included — gets no
    demo records and no public demo tokens unless ``--demo`` says so."""
    from sqlalchemy import func, select

    from matcher.storage.models import Talent
    from matcher.tools.seeding import prepare_database
    from tests.conftest import fresh_database_url

    small = {"demo_talents": 40, "demo_demands": 5, "demo_duplicates": 2, "demo_namesakes": 1}
    local = settings.model_copy(update={"var_dir": tmp_path / "local", "database_url": "", **small})
    _, tokens = prepare_database(local, log=lambda m: None)
    assert tokens["official"] == "demo-official"
    configured = settings.model_copy(update={"database_url": fresh_database_url(tmp_path, "prod"), **small})
    db, tokens = prepare_database(configured, log=lambda m: None)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Talent)) == 0
    assert tokens == {}
    _, tokens = prepare_database(configured, demo=True, log=lambda m: None)  # asked for explicitly
    assert tokens["official"] == "demo-official"


def test_the_demo_has_work_in_review_at_every_office(db) -> None:  # type: ignore[no-untyped-def]
    """On first start each office's queue holds something: the city's 初审, the province's 终审, the
    county's 初审 of a 科技特派员 engagement, and a 容缺 approval still owing an item."""
    from matcher.services.access import Actor
    from matcher.services.programme import deadlines
    from matcher.services.workflow import matches as match_svc

    made = seed_demo(db, talents=400, demands=300, seed=SEED, progress=False, log=lambda m: None)["in_review"]
    assert made == 4
    city, county = "140400", "140406"  # 长治市, 潞城区: the demo enterprise's

    def queue(office: str | None) -> list[str | None]:
        return [m.review_stage for m in match_svc.list_matches(db, Actor(None, "official", office_code=office),
                                                               status="awaiting_my_review")[0]]

    assert queue(city) == ["长治市 市级初审"]
    assert queue(None) == ["山西省 省级终审"]
    assert queue(county) == ["长治市潞城区 县级初审"]
    promised = deadlines.open_items(db, Actor(None, "official"), stage="promised_items")
    assert len(promised) == 1 and promised[0].status != "overdue" and promised[0].unit_kind == "intermediary"
