"""The API key is an OpenAPI security scheme: clients (Swagger UI, generators) know which calls need it."""

import pytest
from fastapi.testclient import TestClient

# HTTP, a client or load, the same on every backend: run in the SQLite pass only.
pytestmark = pytest.mark.above_storage


def test_every_write_and_only_writes_declare_the_api_key(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    scheme = doc["components"]["securitySchemes"]["apiKey"]
    assert scheme == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "The TUMEN_API_KEY of this server.",
    }
    secured = {
        (method.upper(), path)
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
        if op.get("security") == [{"apiKey": []}]
    }
    assert secured == {
        ("POST", "/api/collections/{cid}/items"),
        ("PUT", "/api/collections/{cid}/items/{fid}"),
        ("PATCH", "/api/collections/{cid}/items/{fid}"),
        ("DELETE", "/api/collections/{cid}/items/{fid}"),
        ("POST", "/api/collections/{cid}/items/{fid}/review"),
        ("POST", "/scenes/{scene_id}/analysis"),
    }
