"""Errors of the candidate pages and the interview, each with an HTTP status and a message key.

``message_key`` names the localized text in ``mga_simulation.i18n`` that the candidate sees.
"""

from typing import ClassVar


class InterviewError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "invalid_request"
    message_key: ClassVar[str] = "error_generic"


class SessionNotFound(InterviewError):
    status = 404
    code = "not_found"
    message_key = "not_found_text"


class ConsentRequired(InterviewError):
    status = 400
    code = "consent_required"
    message_key = "consent_required"


class AnswerEmpty(InterviewError):
    status = 400
    code = "answer_empty"
    message_key = "answer_empty"


class AnswerTooLong(InterviewError):
    status = 400
    code = "answer_too_long"
    message_key = "answer_too_long"


class InterviewNotRunning(InterviewError):
    """The interview has not started yet, or has already ended."""

    status = 409
    code = "interview_not_running"
    message_key = "interview_not_running"


class TimeUp(InterviewError):
    """An answer arrived after the deadline; the interview was finished instead."""

    status = 409
    code = "time_up"
    message_key = "time_up"


class PanelTurnPending(InterviewError):
    """The candidate answered while the panel still owes its reply to the previous answer."""

    status = 409
    code = "panel_turn_pending"
    message_key = "panel_turn_pending"


class StaleAnswer(InterviewError):
    """A form sent for an earlier point of the conversation, such as a double submit."""

    status = 409
    code = "stale_answer"
    message_key = "stale_answer"


class PanelUnavailable(InterviewError):
    """The panel or the question plan could not be generated; nothing was changed."""

    status = 503
    code = "panel_unavailable"
    message_key = "panel_unavailable"


class PanelTurnFailed(InterviewError):
    """The panel's next turn could not be generated; the candidate's answer is stored."""

    status = 503
    code = "panel_turn_failed"
    message_key = "panel_turn_failed"


class SessionNotYetCreated(Exception):
    """An invitation event arrived before ``invitation.created``; the consumer retries it."""


class TokenTaken(Exception):
    """Another session already uses the token of an ``invitation.created`` event."""


class PayloadTooLarge(InterviewError):
    status = 413
    code = "payload_too_large"
    message_key = "answer_too_long"
