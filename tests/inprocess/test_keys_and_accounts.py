"""API keys and the account, in process: who may manage keys, what a listing shows, revocation."""

from __future__ import annotations

from tests.inprocess.conftest import App, Tenant


def test_account_shows_its_name_plan_and_credits(app: App, tenant: Tenant) -> None:
    account = tenant.get("/v1/account")
    assert account.status_code == 200, account.text
    body = account.json()
    assert body["id"] == tenant.account_id and body["name"] == tenant.name
    assert body["credits_left"] == 100  # the free plan's monthly credits
    credits = tenant.get("/v1/credits").json()
    assert credits == {"credits_left": 100, "plan": "free"}


def test_renaming_the_account_needs_an_admin_key(app: App) -> None:
    standard = app.tenant()
    refused = standard.patch("/v1/account", json={"name": "renamed"})
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "FORBIDDEN"
    admin = app.tenant(role="admin")
    renamed = admin.patch("/v1/account", json={"name": "renamed-account"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "renamed-account"
    assert admin.get("/v1/account").json()["name"] == "renamed-account"


def test_keys_are_created_listed_without_secret_and_revoked(app: App) -> None:
    admin = app.tenant(role="admin")
    created = admin.post("/v1/api-keys", json={"name": "ci", "mode": "test"})
    assert created.status_code == 201, created.text
    issued = created.json()
    assert issued["key"].startswith("pr_test_") and issued["mode"] == "test" and issued["name"] == "ci"
    assert issued["prefix"] == issued["key"][:12] and issued["last_four"] == issued["key"][-4:]

    listing = admin.get("/v1/api-keys").json()
    assert listing["total"] == 2  # the admin key itself and the new one
    assert issued["id"] in {k["id"] for k in listing["data"]}
    assert issued["key"] not in admin.get("/v1/api-keys").text  # the secret is shown once only

    new_key = Tenant(admin.account_id, admin.name, issued["key"], admin.client)
    assert new_key.get("/v1/account").status_code == 200
    assert admin.delete(f"/v1/api-keys/{issued['id']}").status_code == 204
    revoked = new_key.get("/v1/account")
    assert revoked.status_code == 401 and revoked.json()["error"]["code"] == "UNAUTHORIZED"
    row = next(k for k in admin.get("/v1/api-keys").json()["data"] if k["id"] == issued["id"])
    assert row["revoked_at"] is not None


def test_standard_keys_cannot_manage_keys(tenant: Tenant) -> None:
    for response in (tenant.get("/v1/api-keys"), tenant.post("/v1/api-keys", json={"name": "x"})):
        assert response.status_code == 403 and response.json()["error"]["code"] == "FORBIDDEN"


def test_another_tenants_key_cannot_be_revoked(app: App) -> None:
    owner, intruder = app.tenant(role="admin"), app.tenant(role="admin")
    key_id = owner.get("/v1/api-keys").json()["data"][0]["id"]
    response = intruder.delete(f"/v1/api-keys/{key_id}")
    assert response.status_code == 404 and response.json()["error"]["code"] == "API_KEY_NOT_FOUND"
    assert owner.get("/v1/account").status_code == 200  # still valid


def test_missing_or_unknown_key_is_401(app: App) -> None:
    assert app.client.get("/v1/account").status_code == 401
    unknown = app.client.get("/v1/account", headers={"Authorization": "Bearer pr_live_" + "x" * 43})
    assert unknown.status_code == 401 and unknown.json()["error"]["code"] == "UNAUTHORIZED"
