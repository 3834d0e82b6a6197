"""The trading page's files: served with security headers, and nothing else is."""

from dataclasses import replace

from tests.support import Servers


async def test_the_page_is_served_at_the_root_with_security_headers(api):
    response = await api.client.get("/")
    assert response.status == 200
    assert "<title>PaperDesk</title>" in await response.text()
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    module = await api.client.get("/app/app.js")
    assert module.status == 200
    assert module.content_type == "application/javascript"


async def test_only_the_pages_own_files_are_served(api):
    for path in ("/app/../config/settings.py", "/app/package.json", "/vendor/pyproject.toml",
                 "/app/%2e%2e%2fREADME.md"):
        status, body = await api.call("GET", path)
        assert status == 404, path
        assert body["error"]["code"] == "not_found"


async def test_a_missing_package_says_how_to_install_it(servers: Servers, settings, tmp_path):
    (tmp_path / "index.html").write_text("<title>PaperDesk</title>")
    api = await servers.start(replace(settings, web_root=tmp_path))
    status, body = await api.call("GET", "/vendor/lightweight-charts.mjs")
    assert status == 404
    assert "run `make setup`" in body["error"]["message"]


async def test_the_links_the_server_emails_open_the_page(api):
    for path in ("/verify-email?token=abc", "/reset-password?token=abc", "/reset-password"):
        response = await api.client.get(path)
        assert response.status == 200, path
        assert "<title>PaperDesk</title>" in await response.text()
        assert response.headers["Referrer-Policy"] == "no-referrer"  # the token stays here
