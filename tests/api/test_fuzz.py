"""Schemathesis against the app's own OpenAPI document, for each role's token and anonymously: no
generated request may produce a server error, and every documented response must match its schema.
Bounded (``MATCHER_FUZZ_EXAMPLES`` per operation, each sent once per role) so it stays within minutes.

Schemathesis's pytest plugin (lazy schemas) does not run under pytest 9 here, so its Python API is
used directly: one Hypothesis run per operation, failures collected and reported together."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis

# Imported here, at collection, not lazily inside ``from_asgi`` while the app's background threads import and
# compile modules: CPython 3.11.7 keeps the AST recursion-depth check in shared state, and two threads parsing
# at once fail with "SystemError: AST constructor recursion depth mismatch" (seen once on a clean-clone CI).
import schemathesis.specs.openapi.schemas
import schemathesis.specs.openapi.stateful
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error, response_schema_conformance

from matcher.config import Settings
from tests.conftest import TOKENS, api_client

pytestmark = pytest.mark.once("sqlite")

FUZZ_EXAMPLES = int(os.environ.get("MATCHER_FUZZ_EXAMPLES", "12"))
ROLES = ("anonymous", "official", "admin", "enterprise", "intermediary")


@pytest.fixture(scope="module")
def fuzz_app(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with api_client(settings, tmp_path_factory.mktemp("fuzz-var"), talents=120, demands=16) as client:
        yield client.app


def test_no_server_error_and_documented_responses(fuzz_app: Any) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25, "the schema lists the API's operations"
    failures: list[str] = []
    calls = 0
    # Valid requests (positive) and invalid ones (negative: wrong types, nulls, out-of-range values …).
    for operation, mode in itertools.product(operations, list(schemathesis.GenerationMode)):

        @settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: Any) -> None:
            nonlocal calls
            for role in ROLES:
                headers = {} if role == "anonymous" else {"Authorization": f"Bearer {TOKENS[role]}"}
                calls += 1
                case.call_and_validate(headers=headers, checks=[not_a_server_error, response_schema_conformance])

        try:
            run()
        except Unsatisfiable:
            assert mode is schemathesis.GenerationMode.NEGATIVE, operation.label  # nothing to make invalid
        except Exception as exc:  # collect every operation's failure, then report them together
            failures.append(f"{operation.label} ({mode.value}): {str(exc)[:1500]}")
    print(f"fuzzed {len(operations)} operations with {calls} requests")
    assert not failures, "\n\n".join(failures)
