"""One error shape for everything under /api/, and the served OpenAPI description and docs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from app import create_app
from tests.api.helpers import error

STATIC = Path(__file__).resolve().parents[2] / "app" / "static"


def test_routing_errors_under_api_are_json(session: Any, world: Any, api_as: Any) -> None:
    api = api_as(world.officer)
    missing = api.get("/api/v1/no-such-thing")
    assert missing.status_code == 404 and error(missing)["code"] == "not_found"
    wrong = api.open("DELETE", "/api/v1/parks")
    assert wrong.status_code == 405 and error(wrong)["code"] == "method_not_allowed"
    assert "GET" in wrong.headers["Allow"]
    assert error(api.get("/api/v2/leads"))["code"] == "not_found"


def test_pages_keep_their_html_errors(session: Any, world: Any, login_as: Any) -> None:
    response = login_as(world.officer).get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"


def test_bad_json_is_a_400(session: Any, world: Any, api_as: Any) -> None:
    api = api_as(world.officer)
    response = api.client.post(
        "/api/v1/enterprises",
        data="{not json",
        headers={"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert error(response)["message"] == "请求内容不是有效的 JSON。"
    listing = api.post("/api/v1/enterprises", json=["a list"])
    assert listing.status_code == 422
    assert error(listing)["message"] == "请求内容应为 JSON 对象。"


def test_a_server_error_is_json_and_rolls_back(app: Any, session: Any) -> None:
    broken = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        PROPAGATE_EXCEPTIONS=False,
    )

    def boom() -> None:
        raise RuntimeError("bug")

    broken.add_url_rule("/api/v1/boom", "boom", boom)
    broken.add_url_rule("/boom", "page_boom", boom)
    with broken.app_context():
        client = broken.test_client()
        response = client.get("/api/v1/boom")
        assert response.status_code == 500
        body = error(response)
        assert body["code"] == "server_error" and "操作没有保存" in body["message"]
        page = client.get("/boom")
        assert page.status_code == 500 and page.mimetype == "text/html"


def test_messages_follow_the_language(session: Any, world: Any, api_as: Any) -> None:
    response = api_as(None).get("/api/v1/leads?lang=en")
    assert response.status_code == 401
    assert error(response)["message"]  # translated or not, the shape stays the same


# --- the OpenAPI description --------------------------------------------------------------------


@pytest.fixture
def spec(client: Any) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def test_every_api_route_is_described(app: Any, spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.")
    described = {
        (path, method.upper())
        for path, item in spec["paths"].items()
        for method in item
        if method != "parameters"
    }
    served = set()
    for rule in app.url_map.iter_rules():
        if (
            rule.rule.startswith("/api/v1/")
            and rule.endpoint.startswith("api_")
            and (not rule.endpoint.startswith("api_docs"))
        ):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            served |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert served == described


def test_the_description_says_how_to_authenticate_and_fail(spec: dict[str, Any]) -> None:
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert spec["security"] == [{"bearerAuth": []}]
    error_schema = spec["components"]["schemas"]["Error"]
    assert set(error_schema["properties"]) == {"error"}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            assert "default" in operation["responses"], (path, method)
            assert operation.get("summary"), (path, method)


def test_request_schemas_are_the_validating_ones(spec: dict[str, Any]) -> None:
    lead = spec["components"]["schemas"]["LeadCreate"]
    assert set(lead["required"]) == {"enterprise_id", "title", "park_id"}
    assert lead["additionalProperties"] is False
    move = spec["components"]["schemas"]["StageMove"]
    assert "signed" in move["properties"]["target"]["enum"]
    params = spec["paths"]["/api/v1/leads"]["get"]["parameters"]
    assert {"park", "chain", "stage", "tier", "owner", "q", "page", "per_page", "sort"} <= {
        p["name"] for p in params
    }


def test_the_docs_page_loads_only_vendored_assets(client: Any, session: Any) -> None:
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in assets
    assert "/static/vendor/swagger-ui/swagger-ui.css" in assets
    assert not [a for a in assets if "//" in a]
    assert "<script>" not in html  # the site's CSP allows no inline script
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "NOTICE"):
        assert (STATIC / "vendor" / "swagger-ui" / name).is_file()
    for asset in assets:
        if asset.startswith("/static/"):
            static = client.get(asset)
            assert static.status_code == 200, asset
            static.close()
