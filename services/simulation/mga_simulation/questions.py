"""Questions and follow-ups: the deterministic sandbox, or a language model.

An interview follows a plan of main questions, asked in turn by the panelists (question k by
panelist k modulo the panel size). After each answer the panel either follows up on it or
moves to the next planned question. The interview closes when the plan is used up and no
follow-up is due. Toughness (1 to 5) sets the difficulty of the questions, how many
follow-ups one question may get, and how readily and pressingly the panel follows up.
"""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Literal, Protocol

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StringConstraints

from mga_events.schemas import Language, Panelist
from mga_llm import JsonModel, OutputRejected
from mga_simulation.panel import Archetype, seat_archetype
from mga_simulation.prompts import (
    SYSTEM_PROMPT,
    SpokenTurn,
    next_turn_prompt,
    question_plan_prompt,
)
from mga_simulation.seed import InvitationFacts, Seed

# Follow-ups one main question may get, by toughness.
MAX_FOLLOW_UPS: dict[int, int] = {1: 1, 2: 1, 3: 1, 4: 2, 5: 2}
# The sandbox asks for more detail when an answer has fewer words than this, by toughness.
MIN_ANSWER_WORDS: dict[int, int] = {1: 6, 2: 12, 3: 20, 4: 30, 5: 40}


def question_count(duration_minutes: int) -> int:
    """Return how many main questions fit the duration: one per six minutes, 3 to 8."""
    return max(3, min(8, round(duration_minutes / 6)))


def max_follow_ups(toughness: int) -> int:
    return MAX_FOLLOW_UPS[toughness]


@dataclass(frozen=True)
class PlannedQuestion:
    text: str
    # Index of the asking panelist in the panel.
    panelist: int


@dataclass(frozen=True)
class NextTurn:
    """The panel's reply to an answer; an empty ``text`` without follow-up closes the interview."""

    follow_up: bool
    text: str


@dataclass(frozen=True)
class TurnContext:
    facts: InvitationFacts
    panel: Sequence[Panelist]
    plan: Sequence[PlannedQuestion]
    # Index in ``plan`` of the main question being discussed.
    question_index: int
    follow_ups_asked: int
    turns: Sequence[SpokenTurn]

    @property
    def last_answer(self) -> str:
        for turn in reversed(self.turns):
            if turn.speaker_name is None:
                return turn.text
        return ""

    @property
    def follow_up_allowed(self) -> bool:
        return self.follow_ups_asked < max_follow_ups(self.facts.toughness)

    @property
    def next_question(self) -> PlannedQuestion | None:
        following = self.question_index + 1
        return self.plan[following] if following < len(self.plan) else None

    @property
    def current_asker(self) -> Panelist:
        return self.panel[self.plan[self.question_index].panelist]


class QuestionWriter(Protocol):
    async def write_plan(
        self, facts: InvitationFacts, panel: Sequence[Panelist]
    ) -> list[PlannedQuestion]: ...

    async def write_next_turn(self, context: TurnContext) -> NextTurn: ...


# ---------------------------------------------------------------------------------------------
# Sandbox

Tier = Literal["gentle", "standard", "demanding"]


def tier_of(toughness: int) -> Tier:
    if toughness <= 2:
        return "gentle"
    return "standard" if toughness == 3 else "demanding"


# (English, German) templates; {role} is the invitation's role, {phrase} a phrase of the posting.
QUESTION_BANK: dict[Archetype, dict[Tier, tuple[tuple[str, str], ...]]] = {
    "lead": {
        "gentle": (
            ("Could you briefly introduce yourself and tell us what you are working on at the "
             "moment?",
             "Können Sie sich kurz vorstellen und uns erzählen, woran Sie gerade arbeiten?"),
            ("Could you tell us about a project you are proud of and what your part in it was?",
             "Können Sie uns von einem Projekt erzählen, auf das Sie stolz sind, und welche "
             "Rolle Sie darin hatten?"),
            ("Our posting mentions “{phrase}”. How does that match what you have done so far?",
             "In unserer Ausschreibung steht „{phrase}“. Wie passt das zu dem, was Sie bisher "
             "gemacht haben?"),
        ),
        "standard": (
            ("Tell us about a time you had to set priorities with too little time or budget. "
             "What did you decide, and why?",
             "Erzählen Sie uns von einer Situation, in der Sie mit zu wenig Zeit oder Budget "
             "Prioritäten setzen mussten. Was haben Sie entschieden, und warum?"),
            ("The posting says “{phrase}”. What would you focus on in your first 90 days?",
             "In der Ausschreibung heißt es „{phrase}“. Worauf würden Sie sich in Ihren ersten "
             "90 Tagen konzentrieren?"),
            ("Which result from your recent work best shows how you would perform as {role}?",
             "Welches Ergebnis aus Ihrer letzten Tätigkeit zeigt am besten, wie Sie als {role} "
             "arbeiten würden?"),
        ),
        "demanding": (
            ("Describe a decision of yours that turned out to be wrong. What did it cost, and "
             "what exactly did you change afterwards?",
             "Beschreiben Sie eine Ihrer Entscheidungen, die sich als falsch herausgestellt hat. "
             "Was hat sie gekostet, und was genau haben Sie danach geändert?"),
            ("The posting asks for “{phrase}”. Convince us with concrete numbers that you have "
             "already delivered exactly this.",
             "Die Ausschreibung verlangt „{phrase}“. Überzeugen Sie uns mit konkreten Zahlen, "
             "dass Sie genau das bereits geleistet haben."),
            ("Imagine your budget is cut in half tomorrow. What would you stop doing as {role}, "
             "and how would you defend that decision?",
             "Angenommen, Ihr Budget wird morgen halbiert. Was würden Sie als {role} "
             "einstellen, und wie würden Sie diese Entscheidung verteidigen?"),
        ),
    },
    "expert": {
        "gentle": (
            ("Which tools and methods do you use most in your work, and why those?",
             "Welche Werkzeuge und Methoden nutzen Sie in Ihrer Arbeit am häufigsten, und "
             "warum gerade diese?"),
            ("The posting mentions “{phrase}”. What experience do you have with that?",
             "In der Ausschreibung wird „{phrase}“ erwähnt. Welche Erfahrungen haben Sie damit?"),
            ("What have you learned recently in your field that you found useful?",
             "Was haben Sie in letzter Zeit in Ihrem Fachgebiet gelernt, das Ihnen "
             "weitergeholfen hat?"),
        ),
        "standard": (
            ("How would you approach “{phrase}” in your first weeks? Please walk us through it "
             "step by step.",
             "Wie würden Sie „{phrase}“ in Ihren ersten Wochen angehen? Bitte beschreiben Sie es "
             "Schritt für Schritt."),
            ("Tell us about the most difficult professional problem you solved recently. How "
             "did you find its cause?",
             "Erzählen Sie uns von dem schwierigsten fachlichen Problem, das Sie zuletzt gelöst "
             "haben. Wie sind Sie der Ursache auf die Spur gekommen?"),
            ("Which trade-off in your last project did others disagree with? Why did you make "
             "it anyway?",
             "Welche Abwägung in Ihrem letzten Projekt haben andere nicht mitgetragen? Warum "
             "haben Sie trotzdem so entschieden?"),
        ),
        "demanding": (
            ("“{phrase}” sounds simple on paper. Where does it usually fail in practice, and "
             "how would you prevent that here?",
             "„{phrase}“ klingt auf dem Papier einfach. Woran scheitert das in der Praxis "
             "meistens, und wie würden Sie das hier verhindern?"),
            ("Take the most complex piece of work on your CV. Which part of it would you do "
             "completely differently today, and why?",
             "Nehmen Sie die komplexeste Arbeit aus Ihrem Lebenslauf. Welchen Teil würden Sie "
             "heute völlig anders machen, und warum?"),
            ("Suppose your approach fails in front of your most important customer. What do "
             "you do in the first hour?",
             "Angenommen, Ihr Ansatz versagt vor Ihrem wichtigsten Kunden. Was tun Sie in der "
             "ersten Stunde?"),
        ),
    },
    "people": {
        "gentle": (
            ("How would your colleagues describe working with you?",
             "Wie würden Ihre Kolleginnen und Kollegen die Zusammenarbeit mit Ihnen "
             "beschreiben?"),
            ("What kind of team environment helps you do your best work?",
             "In welchem Teamumfeld können Sie am besten arbeiten?"),
            ("What motivates you about the role of {role}?",
             "Was motiviert Sie an der Position {role}?"),
        ),
        "standard": (
            ("Tell us about a disagreement with a colleague. How did you resolve it?",
             "Erzählen Sie uns von einer Meinungsverschiedenheit mit einer Kollegin oder einem "
             "Kollegen. Wie haben Sie sie gelöst?"),
            ("Describe a time you received critical feedback. What did you do with it?",
             "Beschreiben Sie eine Situation, in der Sie kritisches Feedback bekommen haben. "
             "Was haben Sie daraus gemacht?"),
            ("How do you keep people informed and involved when plans change at short notice?",
             "Wie halten Sie andere auf dem Laufenden und beziehen sie ein, wenn sich Pläne "
             "kurzfristig ändern?"),
        ),
        "demanding": (
            ("Tell us about a time you had to deliver bad news to someone senior. What did you "
             "say, and how did they react?",
             "Erzählen Sie uns von einer Situation, in der Sie einer Führungskraft eine "
             "schlechte Nachricht überbringen mussten. Was haben Sie gesagt, und wie hat die "
             "Person reagiert?"),
            ("Your team strongly disagrees with a decision you are convinced of. How do you "
             "handle that, concretely?",
             "Ihr Team lehnt eine Entscheidung, von der Sie überzeugt sind, entschieden ab. Wie "
             "gehen Sie konkret damit um?"),
            ("Which of your weaknesses would your last manager name first, and what shows that "
             "you are working on it?",
             "Welche Ihrer Schwächen würde Ihre letzte Führungskraft zuerst nennen, und woran "
             "sieht man, dass Sie daran arbeiten?"),
        ),
    },
    "peer": {
        "gentle": (
            ("What does a good working day look like for you?",
             "Wie sieht für Sie ein guter Arbeitstag aus?"),
            ("How do you like to share knowledge with your colleagues?",
             "Wie teilen Sie Ihr Wissen am liebsten mit Ihren Kolleginnen und Kollegen?"),
        ),
        "standard": (
            ("How do you give feedback on a colleague's work that you think is not good "
             "enough?",
             "Wie geben Sie Feedback zur Arbeit einer Kollegin oder eines Kollegen, wenn Sie "
             "sie nicht für gut genug halten?"),
            ("The posting mentions “{phrase}”. How would you divide that work within a team?",
             "In der Ausschreibung steht „{phrase}“. Wie würden Sie diese Arbeit im Team "
             "aufteilen?"),
        ),
        "demanding": (
            ("Two days before a deadline you discover a serious flaw in a colleague's work. "
             "What do you do?",
             "Zwei Tage vor einer Frist entdecken Sie einen gravierenden Fehler in der Arbeit "
             "einer Kollegin oder eines Kollegen. Was tun Sie?"),
            ("Which common practice in your field do you think is wrong, and how would you "
             "convince us?",
             "Welche verbreitete Praxis in Ihrem Fachgebiet halten Sie für falsch, und wie "
             "würden Sie uns davon überzeugen?"),
        ),
    },
}  # fmt: skip

FollowUpKind = Literal["detail", "numbers", "challenge"]
# (English, German) by kind and tier; {snippet} is the start of the candidate's answer.
FOLLOW_UPS: dict[FollowUpKind, dict[Tier, tuple[str, str]]] = {
    "detail": {
        "gentle": ("Thank you. Could you tell us a little more about that, perhaps with an "
                   "example?",
                   "Vielen Dank. Können Sie uns dazu noch etwas mehr erzählen, vielleicht mit "
                   "einem Beispiel?"),
        "standard": ("You said “{snippet}”. Could you walk us through a concrete example, "
                     "step by step?",
                     "Sie sagten „{snippet}“. Können Sie uns ein konkretes Beispiel Schritt für "
                     "Schritt schildern?"),
        "demanding": ("“{snippet}” is rather brief. What exactly did you do yourself, and what "
                      "came of it?",
                      "„{snippet}“ ist recht knapp. Was genau haben Sie selbst getan, und was "
                      "ist dabei herausgekommen?"),
    },
    "numbers": {
        "gentle": ("How did you notice that it worked?",
                   "Woran haben Sie gemerkt, dass es funktioniert hat?"),
        "standard": ("You said “{snippet}”. What was the measurable result?",
                     "Sie sagten „{snippet}“. Was war das messbare Ergebnis?"),
        "demanding": ("You said “{snippet}”. What was the measurable result? Please give us "
                      "numbers.",
                      "Sie sagten „{snippet}“. Was war das messbare Ergebnis? Bitte nennen Sie "
                      "uns Zahlen."),
    },
    "challenge": {
        "gentle": ("What would you do differently next time?",
                   "Was würden Sie beim nächsten Mal anders machen?"),
        "standard": ("Why was that the best option you had?",
                     "Warum war das die beste Option, die Sie hatten?"),
        "demanding": ("Let me push back on that: why was that the best option, and what would "
                      "have happened if you had done nothing?",
                      "Da möchte ich widersprechen: Warum war das die beste Option, und was wäre "
                      "passiert, wenn Sie nichts unternommen hätten?"),
    },
}  # fmt: skip

TRANSITIONS: dict[Language, tuple[str, ...]] = {
    "en": ("Thank you.", "Thanks, that helps.", "Understood, thank you.", "Good, let's move on."),
    "de": ("Vielen Dank.", "Danke, das hilft uns weiter.", "Verstanden, danke.",
           "Gut, dann machen wir weiter."),
}  # fmt: skip

_CLAUSE_BREAK = re.compile(r"[.!?;:\n•·]+|\s[-–—]\s|,\s")
_PHRASE_WORDS = (2, 10)
# Words that start a clause split off at a comma ("and run discovery") but read badly in a quote.
_LEADING_CONJUNCTIONS = frozenset({"and", "or", "but", "und", "oder", "sowie", "aber"})
_SNIPPET_WORDS = 8


def posting_phrases(job_posting: str, role: str) -> list[str]:
    """Split the posting into short clauses to quote; fall back to the role if none fits.

    A clause such as "We are hiring a PM to lead our checkout team" is quoted from its first
    " to " on ("lead our checkout team"), which reads better inside a question. A leading
    conjunction is dropped for the same reason.
    """
    phrases = []
    for clause in _CLAUSE_BREAK.split(job_posting):
        clause = clause.strip(" \t\"'“”„‚‘’()[]…*")
        if " to " in clause:
            clause = clause.split(" to ", 1)[1]
        words = clause.split()
        if words and words[0].lower() in _LEADING_CONJUNCTIONS:
            words = words[1:]
            clause = " ".join(words)
        if _PHRASE_WORDS[0] <= len(words) <= _PHRASE_WORDS[1] and clause not in phrases:
            phrases.append(clause)
    return phrases or [role.strip()]


def answer_snippet(answer: str) -> str:
    words = answer.split()
    snippet = " ".join(words[:_SNIPPET_WORDS]).rstrip(".,;:!?")
    return snippet + "…" if len(words) > _SNIPPET_WORDS else snippet


def localized(pair: tuple[str, str], language: Language) -> str:
    return pair[1] if language == "de" else pair[0]


def sandbox_plan(facts: InvitationFacts, panel_size: int) -> list[PlannedQuestion]:
    seed = Seed.of_invitation(facts)
    tier = tier_of(facts.toughness)
    phrases = seed.shuffled("phrases", posting_phrases(facts.job_posting, facts.role))
    # Each panelist asks first the questions that quote the posting, so that the interview
    # refers to it early; the order within both groups depends on the seed.
    banks = {
        archetype: sorted(
            seed.shuffled(f"questions-{archetype}", QUESTION_BANK[archetype][tier]),
            key=lambda template: "{phrase}" not in template[0],
        )
        for archetype in QUESTION_BANK
    }
    asked: dict[Archetype, int] = {}
    plan = []
    for number in range(question_count(facts.duration_minutes)):
        seat = number % panel_size
        archetype = seat_archetype(seat)
        bank = banks[archetype]
        template = bank[asked.get(archetype, 0) % len(bank)]
        asked[archetype] = asked.get(archetype, 0) + 1
        text = localized(template, facts.language).format(
            role=facts.role, phrase=phrases[number % len(phrases)]
        )
        plan.append(PlannedQuestion(text=text, panelist=seat))
    return plan


def sandbox_follow_up_kind(answer: str, toughness: int, follow_ups_asked: int) -> FollowUpKind | None:
    """Decide whether the sandbox follows up on ``answer``, and how; ``None`` moves on."""
    words = len(answer.split())
    if words < MIN_ANSWER_WORDS[toughness]:
        return "detail"
    if toughness >= 4 and not any(character.isdigit() for character in answer):
        return "numbers"
    if toughness == 5 and follow_ups_asked == 0 and Seed(answer).number("challenge") % 2 == 0:
        return "challenge"
    return None


class SandboxQuestionWriter:
    """Deterministic questions and follow-ups; no network."""

    async def write_plan(
        self, facts: InvitationFacts, panel: Sequence[Panelist]
    ) -> list[PlannedQuestion]:
        return sandbox_plan(facts, len(panel))

    async def write_next_turn(self, context: TurnContext) -> NextTurn:
        facts = context.facts
        answer = context.last_answer
        if context.follow_up_allowed:
            kind = sandbox_follow_up_kind(answer, facts.toughness, context.follow_ups_asked)
            if kind is not None:
                template = localized(FOLLOW_UPS[kind][tier_of(facts.toughness)], facts.language)
                return NextTurn(follow_up=True, text=template.format(snippet=answer_snippet(answer)))

        following = context.next_question
        if following is None:
            return NextTurn(follow_up=False, text="")
        seed = Seed.of_invitation(facts)
        transition = seed.pick(f"transition-{context.question_index}", TRANSITIONS[facts.language])
        return NextTurn(follow_up=False, text=f"{transition} {following.text}")


# ---------------------------------------------------------------------------------------------
# Language model

QuestionText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)
]


class QuestionPlanDraft(BaseModel):
    model_config = ConfigDict(extra="ignore")

    questions: list[QuestionText]


class NextTurnDraft(BaseModel):
    model_config = ConfigDict(extra="ignore")

    follow_up: bool = Field(validation_alias=AliasChoices("follow_up", "followUp"))
    text: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] = ""


def require_complete_plan(count: int) -> Callable[[QuestionPlanDraft], None]:
    """Return a check that rejects a plan without exactly ``count`` distinct questions."""

    def check(draft: QuestionPlanDraft) -> None:
        if len(draft.questions) != count:
            raise OutputRejected(
                "question_count", f"expected {count} questions, got {len(draft.questions)}"
            )
        if len({question.casefold() for question in draft.questions}) != count:
            raise OutputRejected("question_repeated", "the plan repeats a question")

    return check


def require_usable_turn(context: TurnContext) -> Callable[[NextTurnDraft], None]:
    def check(draft: NextTurnDraft) -> None:
        if draft.follow_up and not draft.text:
            raise OutputRejected("empty_follow_up", "follow_up is true but text is empty")
        if not draft.follow_up and context.next_question is not None and not draft.text:
            raise OutputRejected("empty_question", "the next question has no text")

    return check


class LlmQuestionWriter:
    """Questions and follow-ups written by a language model through ``JsonModel``."""

    def __init__(self, model: JsonModel) -> None:
        self._model = model

    async def write_plan(
        self, facts: InvitationFacts, panel: Sequence[Panelist]
    ) -> list[PlannedQuestion]:
        """Return the plan; raise ``GenerationFailed`` when no complete plan comes back."""
        count = question_count(facts.duration_minutes)
        draft = await self._model.complete_json(
            purpose="question_plan",
            system=SYSTEM_PROMPT,
            user=question_plan_prompt(facts.brief, panel, count),
            output=QuestionPlanDraft,
            check=require_complete_plan(count),
        )
        return [
            PlannedQuestion(text=text, panelist=number % len(panel))
            for number, text in enumerate(draft.questions)
        ]

    async def write_next_turn(self, context: TurnContext) -> NextTurn:
        """Ask the model for a follow-up or the next question; raise ``GenerationFailed``.

        When the question may get no further follow-up, the planned question is asked as
        written, without a model call.
        """
        following = context.next_question
        if not context.follow_up_allowed:
            return NextTurn(follow_up=False, text=following.text if following else "")

        next_asker = context.panel[following.panelist].name if following else None
        draft = await self._model.complete_json(
            purpose="next_turn",
            system=SYSTEM_PROMPT,
            user=next_turn_prompt(
                context.facts.brief,
                context.panel,
                context.turns,
                current_asker=context.current_asker.name,
                next_asker=next_asker,
                next_question=following.text if following else None,
            ),
            output=NextTurnDraft,
            check=require_usable_turn(context),
        )
        if draft.follow_up:
            return NextTurn(follow_up=True, text=draft.text)
        return NextTurn(follow_up=False, text=draft.text if following else "")
