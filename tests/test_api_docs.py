"""The API describes itself: OpenAPI schema and interactive docs, served from our own origin."""

from __future__ import annotations

from django.contrib.auth.models import User

from tests.conftest import client_for


def test_openapi_schema_lists_the_department_and_patient_operations(coordinator: User) -> None:
    response = client_for(coordinator).get("/api/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "RadFlow API"
    assert "/api/patients/{patient_id}" in schema["paths"]
    assert "/api/department/rooms" in schema["paths"]
    assert "BearerToken" in schema["components"]["securitySchemes"]


def test_api_docs_load_swagger_from_our_static_files_not_a_cdn(coordinator: User) -> None:
    response = client_for(coordinator).get("/api/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    assert "https://" not in html


def test_api_docs_need_a_login(db: None) -> None:
    from django.test import Client

    response = Client().get("/api/docs")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
