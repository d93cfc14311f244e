"""The invitation email's subject, text and HTML, in English or German.

Candidate-supplied values (name, role) reach the templates only as variables, never as
template source, so text like ``{{ 7*7 }}`` stays literal. HTML templates autoescape them.
Dates are formatted with month-name tables here rather than with the system locale, which
differs between machines and containers.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from mga_events.schemas import Language
from mga_mailer.errors import InvalidInvitation

_MONTHS: dict[Language, tuple[str, ...]] = {
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
    "de": (
        "Januar", "Februar", "März", "April", "Mai", "Juni",
        "Juli", "August", "September", "Oktober", "November", "Dezember",
    ),
}  # fmt: skip

_SUBJECTS: dict[Language, str] = {
    "en": "Your interview invitation: {role}",
    "de": "Ihre Einladung zum Interview: {role}",
}


def single_line(value: str) -> str:
    """Collapse every run of whitespace, CR and LF included, into one space."""
    return " ".join(value.split())


def format_expiry(moment: datetime, language: Language) -> str:
    """Format a moment in UTC as a reader of ``language`` expects a date with time.

    English: ``1 June 2030, 00:00 UTC``. German: ``1. Juni 2030, 00:00 Uhr UTC``.
    """
    utc = moment.astimezone(UTC)
    month = _MONTHS[language][utc.month - 1]
    clock = f"{utc.hour:02d}:{utc.minute:02d}"
    if language == "de":
        return f"{utc.day}. {month} {utc.year}, {clock} Uhr UTC"
    return f"{utc.day} {month} {utc.year}, {clock} UTC"


def format_duration(minutes: int, language: Language) -> str:
    if language == "de":
        return f"{minutes} Minute" if minutes == 1 else f"{minutes} Minuten"
    return f"{minutes} minute" if minutes == 1 else f"{minutes} minutes"


@dataclass(frozen=True)
class InvitationContent:
    """The facts the invitation email contains, taken from the event."""

    language: Language
    candidate_name: str
    role: str
    duration_minutes: int
    expires_at: datetime
    invitation_url: str
    # The signature, which is the same name the From header shows.
    sender_name: str


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


class InvitationRenderer:
    """Render invitation emails from the templates shipped in this package."""

    def __init__(self) -> None:
        self._environment = Environment(
            loader=PackageLoader("mga_mailer", "templates"),
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    def render(self, content: InvitationContent) -> RenderedEmail:
        """Render the email, or raise ``InvalidInvitation`` for a link that is not http(s)."""
        url = urlsplit(content.invitation_url)
        if url.scheme not in ("https", "http") or not url.netloc:
            # The URL itself stays out of the message: its token gives access to the interview.
            raise InvalidInvitation(
                f"the invitation URL must be an absolute http(s) URL, not scheme {url.scheme!r}"
            )

        language = content.language
        subject = _SUBJECTS[language].format(role=single_line(content.role))
        variables = {
            "language": language,
            "subject": subject,
            # The greeting is a single line even if the name contains line breaks.
            "name": single_line(content.candidate_name),
            "role": single_line(content.role),
            "duration": format_duration(content.duration_minutes, language),
            "expires": format_expiry(content.expires_at, language),
            "invitation_url": content.invitation_url,
            "sender_name": content.sender_name,
        }
        text = self._environment.get_template(f"invitation.{language}.txt").render(variables)
        html = self._environment.get_template(f"invitation.{language}.html").render(variables)
        return RenderedEmail(subject=subject, text=text, html=html)
