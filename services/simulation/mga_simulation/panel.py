"""Panel generation: the deterministic sandbox panel, or a panel written by a language model.

The sandbox detects the field of the job (engineering, product, data, design, sales,
marketing, or general) from keywords in the role and the job posting, and staffs the panel
with the roles of that field: the hiring lead, a subject expert, a people partner and a peer,
in that order. Names, personas and the tone of the personas follow from the invitation's seed
and toughness.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Literal, Protocol

from pydantic import BaseModel, ConfigDict, StringConstraints

from mga_events.schemas import Language, Panelist
from mga_llm import JsonModel, OutputRejected
from mga_simulation.prompts import SYSTEM_PROMPT, panel_prompt
from mga_simulation.seed import InvitationFacts, Seed

Archetype = Literal["lead", "expert", "people", "peer"]
# The order in which the sandbox fills panel seats; larger panels repeat it.
ARCHETYPE_ORDER: tuple[Archetype, ...] = ("lead", "expert", "people", "peer")


class PanelWriter(Protocol):
    async def write_panel(self, facts: InvitationFacts) -> list[Panelist]: ...


@dataclass(frozen=True)
class RoleTitle:
    en: str
    de_male: str
    de_female: str
    focus_en: str
    focus_de: str

    def title(self, language: Language, *, female: bool) -> str:
        if language == "en":
            return self.en
        return self.de_female if female else self.de_male

    def focus(self, language: Language) -> str:
        return self.focus_de if language == "de" else self.focus_en


@dataclass(frozen=True)
class Field:
    name: str
    keywords: tuple[str, ...]
    roles: dict[Archetype, RoleTitle]


_PEOPLE_PARTNER = RoleTitle(
    "Talent Acquisition Partner",
    "Personalreferent",
    "Personalreferentin",
    "Motivation, collaboration and values",
    "Motivation, Zusammenarbeit und Werte",
)

FIELDS: tuple[Field, ...] = (
    Field(
        "engineering",
        ("engineer", "developer", "software", "backend", "frontend", "full-stack", "devops",
         "kubernetes", "python", "java", "golang", "cloud", "infrastructure", "entwickler",
         "softwareentwicklung", "programmier"),
        {
            "lead": RoleTitle("Engineering Manager", "Engineering Manager",
                              "Engineering Managerin",
                              "Ownership, delivery and technical decisions",
                              "Verantwortung, Umsetzung und technische Entscheidungen"),
            "expert": RoleTitle("Principal Engineer", "Softwarearchitekt",
                                "Softwarearchitektin", "System design and technical depth",
                                "Systemdesign und technische Tiefe"),
            "people": _PEOPLE_PARTNER,
            "peer": RoleTitle("Senior Developer", "Senior-Entwickler", "Senior-Entwicklerin",
                              "Code quality, reviews and teamwork",
                              "Codequalität, Reviews und Zusammenarbeit im Team"),
        },
    ),
    Field(
        "product",
        ("product", "produkt", "roadmap", "discovery", "backlog", " pm "),
        {
            "lead": RoleTitle("Head of Product", "Leiter Produktmanagement",
                              "Leiterin Produktmanagement",
                              "Product strategy and prioritisation",
                              "Produktstrategie und Priorisierung"),
            "expert": RoleTitle("Engineering Lead", "Leiter Entwicklung", "Leiterin Entwicklung",
                                "Working with engineering and technical trade-offs",
                                "Zusammenarbeit mit der Entwicklung und technische Abwägungen"),
            "people": _PEOPLE_PARTNER,
            "peer": RoleTitle("Senior UX Researcher", "Senior UX-Researcher",
                              "Senior UX-Researcherin", "Customer insight and discovery",
                              "Kundenverständnis und Discovery"),
        },
    ),
    Field(
        "data",
        ("data", "daten", "analytics", "analyst", "machine learning", "sql", "statisti",
         "business intelligence"),
        {
            "lead": RoleTitle("Head of Data", "Leiter Data & Analytics",
                              "Leiterin Data & Analytics",
                              "Impact of analyses on business decisions",
                              "Wirkung von Analysen auf Geschäftsentscheidungen"),
            "expert": RoleTitle("Lead Data Scientist", "Leitender Data Scientist",
                                "Leitende Data Scientist", "Methods, statistics and data quality",
                                "Methodik, Statistik und Datenqualität"),
            "people": _PEOPLE_PARTNER,
            "peer": RoleTitle("Data Engineer", "Dateningenieur", "Dateningenieurin",
                              "Data pipelines and tooling", "Datenpipelines und Werkzeuge"),
        },
    ),
    Field(
        "design",
        ("design", " ux", "user interface", "figma", "gestaltung"),
        {
            "lead": RoleTitle("Design Director", "Leiter Design", "Leiterin Design",
                              "Design quality and vision", "Gestaltungsqualität und Vision"),
            "expert": RoleTitle("Senior Product Designer", "Senior-Produktdesigner",
                                "Senior-Produktdesignerin", "Design process and craft",
                                "Designprozess und Handwerk"),
            "people": _PEOPLE_PARTNER,
            "peer": RoleTitle("Product Manager", "Produktmanager", "Produktmanagerin",
                              "Collaboration with product and engineering",
                              "Zusammenarbeit mit Produkt und Entwicklung"),
        },
    ),
    Field(
        "sales",
        ("sales", "vertrieb", "account executive", "quota", "business development",
         "akquise", "verkauf"),
        {
            "lead": RoleTitle("Head of Sales", "Vertriebsleiter", "Vertriebsleiterin",
                              "Pipeline, targets and closing", "Pipeline, Ziele und Abschlüsse"),
            "expert": RoleTitle("Key Account Manager", "Key Account Manager",
                                "Key Account Managerin", "Negotiation and customer conversations",
                                "Verhandlung und Kundengespräche"),
            "people": _PEOPLE_PARTNER,
            "peer": RoleTitle("Customer Success Lead", "Teamleiter Customer Success",
                              "Teamleiterin Customer Success", "Long-term customer relationships",
                              "Langfristige Kundenbeziehungen"),
        },
    ),
    Field(
        "marketing",
        ("marketing", "campaign", "kampagne", "brand", "marke", "seo", "content", "growth"),
        {
            "lead": RoleTitle("Head of Marketing", "Marketingleiter", "Marketingleiterin",
                              "Positioning and marketing strategy",
                              "Positionierung und Marketingstrategie"),
            "expert": RoleTitle("Growth Marketing Lead", "Teamleiter Growth Marketing",
                                "Teamleiterin Growth Marketing",
                                "Campaigns, channels and measurement",
                                "Kampagnen, Kanäle und Erfolgsmessung"),
            "people": _PEOPLE_PARTNER,
            "peer": RoleTitle("Brand Manager", "Brand Manager", "Brand Managerin",
                              "Brand and content", "Marke und Inhalte"),
        },
    ),
)  # fmt: skip

GENERAL_FIELD = Field(
    "general",
    (),
    {
        "lead": RoleTitle("Department Head", "Abteilungsleiter", "Abteilungsleiterin",
                          "Responsibilities of the role and results",
                          "Aufgaben der Position und Ergebnisse"),
        "expert": RoleTitle("Senior Specialist", "Senior-Fachexperte", "Senior-Fachexpertin",
                            "Expertise and methods", "Fachwissen und Methoden"),
        "people": _PEOPLE_PARTNER,
        "peer": RoleTitle("Team Lead", "Teamleiter", "Teamleiterin",
                          "Day-to-day collaboration", "Zusammenarbeit im Alltag"),
    },
)  # fmt: skip

# (first name, is female)
FIRST_NAMES: tuple[tuple[str, bool], ...] = (
    ("Anna", True), ("Jana", True), ("Mei", True), ("Sofia", True), ("Priya", True),
    ("Leonie", True), ("Amara", True), ("Clara", True), ("Elif", True), ("Ingrid", True),
    ("Jonas", False), ("Daniel", False), ("Mateo", False), ("Lukas", False), ("Kwame", False),
    ("Tobias", False), ("Arjun", False), ("Henrik", False), ("Omar", False), ("Felix", False),
)  # fmt: skip
LAST_NAMES: tuple[str, ...] = (
    "Weber", "Okafor", "Lindqvist", "Moreau", "Novak", "Hoffmann", "Tanaka", "Rossi",
    "Schneider", "Kowalski", "Fischer", "Haddad", "Bergmann", "Costa", "Nguyen", "Brennan",
)  # fmt: skip

Tone = Literal["friendly", "neutral", "demanding"]
PERSONAS: dict[Tone, tuple[tuple[str, str], ...]] = {
    "friendly": (
        ("Warm and encouraging. Gives you room to think.",
         "Herzlich und ermutigend. Lässt Ihnen Zeit zum Nachdenken."),
        ("Calm and curious. Asks about your reasoning.",
         "Ruhig und neugierig. Fragt nach Ihren Überlegungen."),
        ("Friendly and structured. Keeps the conversation on track.",
         "Freundlich und strukturiert. Behält den roten Faden im Blick."),
    ),
    "neutral": (
        ("Precise and matter-of-fact. Asks for concrete examples.",
         "Präzise und sachlich. Fragt nach konkreten Beispielen."),
        ("Analytical. Wants to understand the trade-offs you made.",
         "Analytisch. Will Ihre Abwägungen genau verstehen."),
    ),
    "demanding": (
        ("Direct and skeptical. Presses for evidence and numbers.",
         "Direkt und skeptisch. Fordert Belege und Zahlen."),
        ("Challenging. Tests how you respond to pressure and objections.",
         "Fordernd. Prüft, wie Sie mit Druck und Einwänden umgehen."),
    ),
}  # fmt: skip
# The tone of each seat by toughness; seats beyond the list repeat it from the start.
TONES_BY_TOUGHNESS: dict[int, tuple[Tone, ...]] = {
    1: ("friendly",),
    2: ("friendly", "neutral", "friendly"),
    3: ("neutral", "friendly", "neutral"),
    4: ("demanding", "neutral", "neutral"),
    5: ("demanding", "demanding", "neutral"),
}


def detect_field(role: str, job_posting: str) -> Field:
    """Return the field with the most keyword hits in role and posting, else the general one."""
    text = f" {role} {job_posting} ".lower()
    best, best_hits = GENERAL_FIELD, 0
    for candidate in FIELDS:
        # The role counts three times: a posting may mention other fields in passing.
        hits = sum(text.count(keyword) for keyword in candidate.keywords)
        hits += 2 * sum(f" {role} ".lower().count(keyword) for keyword in candidate.keywords)
        if hits > best_hits:
            best, best_hits = candidate, hits
    return best


def seat_archetype(seat: int) -> Archetype:
    return ARCHETYPE_ORDER[seat % len(ARCHETYPE_ORDER)]


class SandboxPanelWriter:
    """The deterministic panel; no network."""

    def __init__(self, size: int) -> None:
        self._size = size

    async def write_panel(self, facts: InvitationFacts) -> list[Panelist]:
        return sandbox_panel(facts, self._size)


def sandbox_panel(facts: InvitationFacts, size: int) -> list[Panelist]:
    seed = Seed.of_invitation(facts)
    field = detect_field(facts.role, facts.job_posting)
    first_names = seed.shuffled("first-names", FIRST_NAMES)
    last_names = seed.shuffled("last-names", LAST_NAMES)
    tones = TONES_BY_TOUGHNESS[facts.toughness]
    used_personas: set[str] = set()

    panel = []
    for seat in range(size):
        first_name, female = first_names[seat % len(first_names)]
        last_name = last_names[seat % len(last_names)]
        title = field.roles[seat_archetype(seat)]
        tone = tones[seat % len(tones)]
        personas = seed.shuffled(f"persona-{seat}", PERSONAS[tone])
        persona = next((p for p in personas if p[0] not in used_personas), personas[0])
        used_personas.add(persona[0])
        panel.append(
            Panelist(
                name=f"{first_name} {last_name}",
                role=title.title(facts.language, female=female),
                focus=title.focus(facts.language),
                persona=persona[1] if facts.language == "de" else persona[0],
            )
        )
    return panel


# Limits on what a model may return, so that one field cannot flood the page.
PanelText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=400)]
PanelName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]


class PanelistDraft(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: PanelName
    role: PanelText
    focus: PanelText
    persona: PanelText


class PanelDraft(BaseModel):
    model_config = ConfigDict(extra="ignore")

    panelists: list[PanelistDraft]


def require_complete_panel(size: int) -> Callable[[PanelDraft], None]:
    """Return a check that rejects a panel without exactly ``size`` distinct panelists."""

    def check(draft: PanelDraft) -> None:
        if len(draft.panelists) != size:
            raise OutputRejected(
                "panel_size", f"expected {size} panelists, got {len(draft.panelists)}"
            )
        names = {member.name.casefold() for member in draft.panelists}
        if len(names) != size:
            raise OutputRejected("panel_names", "two panelists have the same name")

    return check


class LlmPanelWriter:
    """A panel written by a language model through ``JsonModel``."""

    def __init__(self, model: JsonModel, size: int) -> None:
        self._model = model
        self._size = size

    async def write_panel(self, facts: InvitationFacts) -> list[Panelist]:
        """Return the panel; raise ``GenerationFailed`` when no complete panel comes back."""
        draft = await self._model.complete_json(
            purpose="panel",
            system=SYSTEM_PROMPT,
            user=panel_prompt(facts.brief, self._size),
            output=PanelDraft,
            check=require_complete_panel(self._size),
        )
        return panelists_of(draft.panelists)


def panelists_of(drafts: Sequence[PanelistDraft]) -> list[Panelist]:
    return [
        Panelist(name=d.name, role=d.role, focus=d.focus, persona=d.persona) for d in drafts
    ]
