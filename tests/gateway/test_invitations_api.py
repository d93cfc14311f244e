"""Creating, reading and listing invitations through the public API."""

from datetime import timedelta

from mga_core.timestamps import parse_timestamp, utc_now
from tests.support import REFERENCE_BODY, Stack

ENVELOPE_FIELDS = {
    "id", "status", "candidateEmail", "candidateName", "role",
    "invitationUrl", "expiresAt", "createdAt", "metadata",
}


async def test_reference_example_creates_pending_invitation(stack: Stack) -> None:
    account = await stack.account()
    key = await stack.key(account)

    response = await stack.post("/v1/invitations", key, REFERENCE_BODY)

    assert response.status_code == 201, response.text
    body = response.json()
    assert ENVELOPE_FIELDS <= body.keys()
    assert body["id"].startswith("inv_")
    assert body["status"] == "pending"
    assert body["candidateEmail"] == "alex@example.com"
    assert body["candidateName"] == "Alex Chen"
    assert body["role"] == "Senior Product Manager"
    assert body["expiresAt"] == "2030-06-01T00:00:00Z"
    assert body["metadata"] == {}
    assert response.headers["x-request-id"].startswith("req_")


async def test_invitation_url_token_is_unguessable(stack: Stack) -> None:
    key = await stack.key(await stack.account())

    first = (await stack.post("/v1/invitations", key, REFERENCE_BODY)).json()
    second = (await stack.post("/v1/invitations", key, REFERENCE_BODY)).json()

    token = first["invitationUrl"].rsplit("/", 1)[1]
    assert len(token) >= 43  # 32 random bytes in URL-safe base64
    assert first["invitationUrl"] != second["invitationUrl"]


async def test_get_and_list_return_created_invitation(stack: Stack) -> None:
    key = await stack.key(await stack.account())
    created = (await stack.post("/v1/invitations", key, REFERENCE_BODY)).json()

    fetched = await stack.get(f"/v1/invitations/{created['id']}", key)
    listed = await stack.get("/v1/invitations", key)

    assert fetched.status_code == 200
    assert fetched.json() == created
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["data"]] == [created["id"]]
    assert listed.json()["hasMore"] is False
    assert listed.json()["nextCursor"] is None


async def test_created_invitation_is_stored_and_published(stack: Stack) -> None:
    account = await stack.account()
    key = await stack.key(account)
    created = (await stack.post("/v1/invitations", key, REFERENCE_BODY)).json()

    stored = await stack.db.invitations.find_one({"_id": created["id"]})
    messages = await stack.queue_messages(stack.names.event_queue("mailer"))

    assert stored is not None
    assert stored["accountId"] == account
    assert stored["livemode"] is False
    assert len(messages) == 1
    assert messages[0]["type"] == "invitation.created"
    assert messages[0]["id"].startswith("evt_")
    assert messages[0]["accountId"] == account
    assert messages[0]["data"]["invitationId"] == created["id"]
    assert messages[0]["data"]["invitationUrl"] == created["invitationUrl"]


async def test_defaults_apply_when_optional_fields_are_omitted(stack: Stack) -> None:
    key = await stack.key(await stack.account())
    body = {
        field: REFERENCE_BODY[field]
        for field in ("candidateEmail", "candidateName", "role", "jobPosting")
    }

    before = utc_now()
    created = (await stack.post("/v1/invitations", key, body)).json()

    assert created["toughness"] == 3
    assert created["durationMinutes"] == 30
    assert created["language"] == "en"
    assert created["metadata"] == {}
    expires = parse_timestamp(created["expiresAt"])
    assert abs(expires - (before + timedelta(days=14))) < timedelta(minutes=1)


async def test_metadata_is_returned_verbatim(stack: Stack) -> None:
    key = await stack.key(await stack.account())
    metadata = {"ats.requisition": "REQ-42", "$weird": "ok", "count": 7, "ratio": 0.5,
                "flag": True, "none": None, "umlaut": "Müller"}

    created = (await stack.post("/v1/invitations", key, {**REFERENCE_BODY, "metadata": metadata})).json()
    fetched = (await stack.get(f"/v1/invitations/{created['id']}", key)).json()

    assert created["metadata"] == metadata
    assert fetched["metadata"] == metadata
    assert list(fetched["metadata"]) == list(metadata)


async def test_timestamps_round_trip_in_one_form(stack: Stack) -> None:
    key = await stack.key(await stack.account())
    cases = {
        "2030-05-01T12:00:00+02:00": "2030-05-01T10:00:00Z",
        "2030-05-01T12:00:00.123456789Z": "2030-05-01T12:00:00Z",
        "2030-05-01t12:00:00z": "2030-05-01T12:00:00Z",
    }
    for given, expected in cases.items():
        created = await stack.post("/v1/invitations", key, {**REFERENCE_BODY, "expiresAt": given})
        assert created.status_code == 201, (given, created.text)
        fetched = await stack.get(f"/v1/invitations/{created.json()['id']}", key)
        assert created.json()["expiresAt"] == expected
        assert fetched.json()["expiresAt"] == expected
        assert fetched.json()["createdAt"] == created.json()["createdAt"]
        assert created.json()["createdAt"].endswith("Z")


async def test_unknown_invitation_is_not_found(stack: Stack) -> None:
    key = await stack.key(await stack.account())

    for invitation_id in ("inv_01HX2BT8A3JXG5Z3F4WV7QY3K9", "nonsense", "inv_" + "x" * 500):
        response = await stack.get(f"/v1/invitations/{invitation_id}", key)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


async def test_openapi_describes_invitation_endpoints(stack: Stack) -> None:
    response = await stack.http.get("/openapi.json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "post" in paths["/v1/invitations"]
    assert "get" in paths["/v1/invitations"]
    assert "get" in paths["/v1/invitations/{invitation_id}"]
    request_schema = paths["/v1/invitations"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(request_schema["required"]) == {"candidateEmail", "candidateName", "role", "jobPosting"}
    assert request_schema["additionalProperties"] is False


async def test_probes_answer(stack: Stack) -> None:
    for path in ("/healthz", "/readyz", "/metrics"):
        response = await stack.http.get(path)
        assert response.status_code == 200, path


async def test_wrong_method_names_allowed_ones(stack: Stack) -> None:
    key = await stack.key(await stack.account())

    response = await stack.http.delete("/v1/invitations", headers={"Authorization": f"Bearer {key}"})

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert response.json()["error"]["message"] == "DELETE is not allowed on this path; use GET, POST."
    assert response.headers["allow"] == "GET, POST"


async def test_field_messages_say_what_the_value_must_be(stack: Stack) -> None:
    key = await stack.key(await stack.account())

    messages = [
        (await stack.post("/v1/invitations", key, {**REFERENCE_BODY, "durationMinutes": value})).json()
        ["error"]["message"]
        for value in (25, "30")
    ]

    assert messages == ["durationMinutes must be 10, 15, 20, 30, 45 or 60."] * 2
