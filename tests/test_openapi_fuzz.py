"""schemathesis over the served OpenAPI: no 5xx and no response outside the documented schema.

Every operation of ``/openapi.json`` gets its explicit examples, the coverage cases (boundaries and
invalid values of each parameter) and a bounded number of generated cases; then a stateful run
follows the links schemathesis infers between operations (a scene listed, then its tiles; a
sighting posted, then read or replaced). All of it goes over real HTTP to a live server on three
small scenes, with the API key, from a fixed seed.
"""

from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from pydantic import SecretStr
from schemathesis.specs.openapi.schemas import OpenApiSchema

from tests.conftest import LiveServer
from tiles.catalog import Scene
from tiles.sites import load_sites
from tumen.settings import Settings

KEY = "fuzz-key"
SEED = 20221104
MAX_EXAMPLES = 8  # generated cases per operation and phase, besides the coverage cases
STATEFUL_SCENARIOS = 30
STATEFUL_STEPS = 10


def fuzz_config(base_url: str, scenes: list[Scene], sites: list[str]) -> schemathesis.Config:
    """The run: the API key on every request; ids of real scenes and sites most of the time."""
    return schemathesis.Config.from_dict(
        {
            "base-url": base_url,
            "seed": SEED,
            "headers": {"X-API-Key": KEY},
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
            },
            "dictionaries": {
                "scenes": {"values": [s.id for s in scenes]},
                "sites": {"values": sites},
                "collections": {"values": ["observations", "tracks", "sites", "scenes"]},
            },
            "parameters": {
                "path.scene_id": {"dictionary": "scenes", "probability": 0.7},
                "path.site_id": {"dictionary": "sites", "probability": 0.7},
                "path.cid": {"dictionary": "collections", "probability": 0.7},
            },
            # What the API promises: no 5xx, and statuses, media types, bodies and headers as
            # documented. Not checked: that every schema-valid request is accepted (a tile outside
            # the scene is a documented 404, a 10^9-pixel tile a documented 400).
            "checks": {
                "not_a_server_error": {"enabled": True},
                "status_code_conformance": {"enabled": True},
                "content_type_conformance": {"enabled": True},
                "response_schema_conformance": {"enabled": True},
                "response_headers_conformance": {"enabled": True},
                "positive_data_acceptance": {"enabled": False},
                "negative_data_rejection": {"enabled": False},
                "missing_required_header": {"enabled": False},
                "unsupported_method": {"enabled": False},
                "allow_header_conformance": {"enabled": False},
                "ignored_auth": {"enabled": False},
                "use_after_free": {"enabled": True},
                "ensure_resource_availability": {"enabled": True},
            },
            "phases": {
                "examples": {"enabled": True},
                # Boundaries and invalid values of each parameter; not other methods on each path
                # (Starlette's 405) nor each query parameter twice.
                "coverage": {
                    "enabled": True,
                    "unexpected-methods": [],
                    "generate-duplicate-query-parameters": False,
                },
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": True, "max-steps": STATEFUL_STEPS},
            },
        }
    )


@pytest.fixture
def fuzz_server(settings: Settings, border_scenes: list[Scene]) -> Iterator[LiveServer]:
    # No write budget: the fuzzer writes faster than a person, and 429 is tested on its own.
    keyed = settings.model_copy(update={"api_key": SecretStr(KEY), "write_rate": 0})
    with LiveServer(keyed) as server:
        yield server
    statuses = Counter(status for *_, status in server.requests)
    operations = {(method, path) for method, path, *_ in server.requests}
    print(f"\n{len(server.requests)} requests on {len(operations)} method+path pairs: {statuses}")


def tuples_as_arrays(doc: Any) -> Any:
    """``prefixItems`` tuples as arrays of any of their members.

    schemathesis 4.32 turns a 3.1 response schema's ``prefixItems`` into Draft 4's ``items: [...]``
    and then checks it with a Draft 2020-12 validator, which refuses it as a schema (rio-tiler's
    Info model has such tuples). The served document is right; only the fuzzer's copy is widened.
    """
    if isinstance(doc, list):
        return [tuples_as_arrays(v) for v in doc]
    if not isinstance(doc, dict):
        return doc
    out = {k: tuples_as_arrays(v) for k, v in doc.items()}
    if "prefixItems" in out:
        out["items"] = {"anyOf": out.pop("prefixItems")}
    return out


@pytest.fixture
def api_schema(
    fuzz_server: LiveServer, settings: Settings, border_scenes: list[Scene]
) -> OpenApiSchema:
    served = httpx.get(f"{fuzz_server.url}/openapi.json").raise_for_status().json()
    sites = list(load_sites(settings.sites_file))
    config = fuzz_config(fuzz_server.url, border_scenes, sites)
    return schemathesis.openapi.from_dict(tuples_as_arrays(served), config=config)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    # schemathesis 4.32's from_fixture reads Node._nodeid, which pytest 9.2 no longer has.
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


@schema.parametrize()
@pytest.mark.above_storage  # ~2.5 min; the stateful run below reaches the store in every pass
def test_every_operation_answers_as_documented(case: schemathesis.Case) -> None:
    case.call_and_validate()


def test_stateful_sequences_answer_as_documented(api_schema: OpenApiSchema) -> None:
    machine = api_schema.as_state_machine()
    machine.run(
        settings=hypothesis.settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=STATEFUL_STEPS,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(hypothesis.HealthCheck),
            phases=[hypothesis.Phase.generate],
        )
    )
