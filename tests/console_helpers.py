"""Signing in to the staff console with starlette's TestClient, shared by the console's API tests."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

PASSWORD = "demo-staff-password"  # Settings.staff_password's default


def sign_in(client: TestClient, name: str = "Sam") -> str:
    """Signs in; returns the session's CSRF token."""
    page = client.get("/console/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    response = client.post(
        "/console/login",
        data={"csrf": token, "name": name, "password": PASSWORD},
        follow_redirects=False,
    )
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    inbox = client.get("/console")
    return re.search(r'name="csrf-token" content="([^"]+)"', inbox.text).group(1)
