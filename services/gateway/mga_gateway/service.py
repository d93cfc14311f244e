"""Gateway logic: queries read MongoDB, changes go to the invitation service as commands."""

import asyncio
import json
from datetime import timedelta
from typing import Any, Literal, Protocol

from mga_core.errors import Forbidden, InvalidRequest, NotFound
from mga_core.ids import IdPrefix, has_prefix
from mga_core.timestamps import format_timestamp, utc_now
from mga_events.commands import (
    AdvanceInterview,
    CancelInvitation,
    CommandContext,
    CommandName,
    CreateInvitation,
    ExpireInvitation,
    ResendInvitation,
    UpdateInvitation,
)
from mga_events.envelope import WireModel
from mga_gateway.auth import Caller
from mga_gateway.errors import ResultNotReady
from mga_gateway.pagination import DEFAULT_LIMIT, decode_cursor, encode_cursor
from mga_gateway.schemas import CreateInvitationRequest, UpdateInvitationRequest
from mga_gateway.store import GatewayStore
from mga_storage import Document


class CommandSender(Protocol):
    async def call(
        self, name: CommandName, command: WireModel, *, correlation_id: str
    ) -> dict[str, Any]: ...


def render_invitation(document: Document) -> dict[str, Any]:
    """Render a stored invitation as the API shows it, field order as documented."""
    email = document.get("email") or {}
    return {
        "id": document["_id"],
        "status": document["status"],
        "candidateEmail": document["candidateEmail"],
        "candidateName": document["candidateName"],
        "role": document["role"],
        "invitationUrl": document["invitationUrl"],
        "expiresAt": format_timestamp(document["expiresAt"]),
        "createdAt": format_timestamp(document["createdAt"]),
        "openedAt": format_timestamp(document.get("openedAt")),
        "startedAt": format_timestamp(document.get("startedAt")),
        "completedAt": format_timestamp(document.get("completedAt")),
        "expiredAt": format_timestamp(document.get("expiredAt")),
        "cancelledAt": format_timestamp(document.get("cancelledAt")),
        "summary": document.get("summary"),
        "jobPosting": document["jobPosting"],
        "toughness": document["toughness"],
        "durationMinutes": document["durationMinutes"],
        "language": document["language"],
        "metadata": json.loads(document.get("metadataJson") or "{}"),
        "email": {"status": email.get("status", "queued"), "error": email.get("error")},
        "livemode": document["livemode"],
    }


def _shows_step(invitation: dict[str, Any], step: str) -> bool:
    match step:
        case "open":
            return invitation["openedAt"] is not None
        case "start":
            return invitation["status"] in ("started", "completed")
        case _:
            return invitation["status"] == "completed"


def _require_test_key(caller: Caller) -> None:
    if caller.livemode:
        raise Forbidden("Test helpers are only available with test keys (mga_test_...).")


def render_email(document: Document) -> dict[str, Any]:
    return {
        "id": document["_id"],
        "invitationId": document["invitationId"],
        "status": document["status"],
        "language": document.get("language"),
        "to": document.get("toAddress"),
        "subject": document.get("subject"),
        "text": document.get("text"),
        "html": document.get("html"),
        "createdAt": format_timestamp(document.get("createdAt")),
        "sentAt": format_timestamp(document.get("sentAt")),
        "error": document.get("error"),
    }


class GatewayService:
    def __init__(
        self,
        *,
        store: GatewayStore,
        commands: CommandSender,
        default_expiry: timedelta,
        max_expiry: timedelta,
        step_wait: timedelta = timedelta(seconds=10),
    ) -> None:
        self._store = store
        self._commands = commands
        self._default_expiry = default_expiry
        self._max_expiry = max_expiry
        self._step_wait = step_wait

    async def create_invitation(
        self,
        caller: Caller,
        request: CreateInvitationRequest,
        *,
        request_key: str,
        correlation_id: str,
    ) -> dict[str, Any]:
        now = utc_now()
        expires_at = request.expires_at or now + self._default_expiry
        self._check_expiry(expires_at, now=now)
        command = CreateInvitation(
            context=self._context(caller, correlation_id),
            request_key=request_key,
            candidate_email=request.candidate_email,
            candidate_name=request.candidate_name,
            role=request.role,
            job_posting=request.job_posting,
            toughness=request.toughness,
            duration_minutes=request.duration_minutes,
            language=request.language,
            expires_at=expires_at,
            metadata=request.metadata,
        )
        reply = await self._commands.call(
            CommandName.CREATE_INVITATION, command, correlation_id=correlation_id
        )
        return await self.get_invitation(caller, str(reply["id"]))

    async def update_invitation(
        self,
        caller: Caller,
        invitation_id: str,
        request: UpdateInvitationRequest,
        *,
        correlation_id: str,
    ) -> dict[str, Any]:
        await self._require_invitation(caller, invitation_id)
        if request.expires_at is not None:
            self._check_expiry(request.expires_at, now=utc_now())
        command = UpdateInvitation(
            context=self._context(caller, correlation_id),
            invitation_id=invitation_id,
            expires_at=request.expires_at,
            metadata=request.metadata,
        )
        await self._commands.call(
            CommandName.UPDATE_INVITATION, command, correlation_id=correlation_id
        )
        return await self.get_invitation(caller, invitation_id)

    async def cancel_invitation(
        self, caller: Caller, invitation_id: str, *, correlation_id: str
    ) -> dict[str, Any]:
        await self._require_invitation(caller, invitation_id)
        command = CancelInvitation(
            context=self._context(caller, correlation_id), invitation_id=invitation_id
        )
        await self._commands.call(
            CommandName.CANCEL_INVITATION, command, correlation_id=correlation_id
        )
        return await self.get_invitation(caller, invitation_id)

    async def resend_invitation(
        self, caller: Caller, invitation_id: str, *, correlation_id: str
    ) -> dict[str, Any]:
        await self._require_invitation(caller, invitation_id)
        command = ResendInvitation(
            context=self._context(caller, correlation_id), invitation_id=invitation_id
        )
        await self._commands.call(
            CommandName.RESEND_INVITATION, command, correlation_id=correlation_id
        )
        return await self.get_invitation(caller, invitation_id)

    async def expire_test_invitation(
        self, caller: Caller, invitation_id: str, *, correlation_id: str
    ) -> dict[str, Any]:
        _require_test_key(caller)
        await self._require_invitation(caller, invitation_id)
        command = ExpireInvitation(
            context=self._context(caller, correlation_id), invitation_id=invitation_id
        )
        await self._commands.call(
            CommandName.EXPIRE_INVITATION, command, correlation_id=correlation_id
        )
        return await self.get_invitation(caller, invitation_id)

    async def advance_test_invitation(
        self,
        caller: Caller,
        invitation_id: str,
        step: Literal["open", "start", "complete"],
        *,
        correlation_id: str,
    ) -> dict[str, Any]:
        """Play the candidate up to ``step``, then return the invitation once it shows it.

        The invitation changes when the invitation service has handled the interview's
        events, shortly after the command returns. The invitation is returned as soon as it
        shows the step, or as it is after ``step_wait``.
        """
        _require_test_key(caller)
        await self._require_invitation(caller, invitation_id)
        command = AdvanceInterview(
            context=self._context(caller, correlation_id), invitation_id=invitation_id, step=step
        )
        await self._commands.call(
            CommandName.ADVANCE_INTERVIEW, command, correlation_id=correlation_id
        )
        deadline = asyncio.get_running_loop().time() + self._step_wait.total_seconds()
        while True:
            invitation = await self.get_invitation(caller, invitation_id)
            if _shows_step(invitation, step) or asyncio.get_running_loop().time() > deadline:
                return invitation
            await asyncio.sleep(0.1)

    async def list_test_emails(self, caller: Caller, invitation_id: str) -> dict[str, Any]:
        """Return the emails rendered for a test-mode invitation, oldest first."""
        _require_test_key(caller)
        await self._require_invitation(caller, invitation_id)
        emails = await self._store.list_emails(invitation_id)
        return {
            "data": [render_email(email) for email in emails],
            "hasMore": False,
            "nextCursor": None,
        }

    async def get_result(self, caller: Caller, invitation_id: str) -> dict[str, Any]:
        """Return the scored result, with the invitation's current metadata verbatim."""
        invitation = await self._require_invitation(caller, invitation_id)
        if invitation["status"] != "completed":
            raise ResultNotReady(
                f"The invitation is {invitation['status']}; its result is available once it "
                "is completed."
            )
        stored = await self._store.get_result(invitation_id)
        if stored is None:
            raise ResultNotReady()
        result: dict[str, Any] = json.loads(stored["resultJson"])
        result["metadata"] = json.loads(invitation.get("metadataJson") or "{}")
        return result

    async def get_invitation(self, caller: Caller, invitation_id: str) -> dict[str, Any]:
        return render_invitation(await self._require_invitation(caller, invitation_id))

    async def list_invitations(
        self,
        caller: Caller,
        *,
        status: str | None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        after = decode_cursor(cursor) if cursor else None
        documents = await self._store.list_invitations(
            account_id=caller.account_id,
            livemode=caller.livemode,
            status=status,
            after=after,
            limit=limit + 1,
        )
        page, has_more = documents[:limit], len(documents) > limit
        next_cursor = (
            encode_cursor(page[-1]["createdAt"], page[-1]["_id"]) if has_more and page else None
        )
        return {
            "data": [render_invitation(document) for document in page],
            "hasMore": has_more,
            "nextCursor": next_cursor,
        }

    async def balance(self, caller: Caller) -> dict[str, int]:
        latest = await self._store.latest_ledger_entry(caller.account_id)
        return {
            "availableMinutes": int(latest["available"]) if latest else 0,
            "reservedMinutes": int(latest["reserved"]) if latest else 0,
            "chargedMinutes": int(latest["charged"]) if latest else 0,
        }

    async def _require_invitation(self, caller: Caller, invitation_id: str) -> Document:
        document = None
        if has_prefix(invitation_id, IdPrefix.INVITATION):
            document = await self._store.get_invitation(
                invitation_id, account_id=caller.account_id, livemode=caller.livemode
            )
        if document is None:
            raise NotFound(f"No invitation with id '{invitation_id[:64]}'.", param="id")
        return document

    def _check_expiry(self, expires_at: Any, *, now: Any) -> None:
        if expires_at <= now:
            raise InvalidRequest("expiresAt must be in the future.", param="expiresAt")
        if expires_at > now + self._max_expiry:
            raise InvalidRequest(
                f"expiresAt must be at most {self._max_expiry.days} days from now.",
                param="expiresAt",
            )

    @staticmethod
    def _context(caller: Caller, correlation_id: str) -> CommandContext:
        return CommandContext(
            account_id=caller.account_id, livemode=caller.livemode, correlation_id=correlation_id
        )
