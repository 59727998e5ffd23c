"""The word lists behind the content score, English and Spanish, folded (no accents).

Each list is a :class:`Lexicon`: single words are looked up in the token set of a text
(one set operation instead of a large regular expression), phrases of several words are
looked up in its space-padded normalised form, and a small regex covers what is not a word
(currency symbols, digits, years). The README ("Content score") describes each list.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "ACTOR_AUXILIARIES",
    "CAPABILITY_CUES",
    "CONSTRAINT_KINDS",
    "COUNT_MODIFIERS",
    "DEADLINE_WORDS",
    "DELIVERABLES",
    "DOCUMENT_ITSELF",
    "FILLER",
    "LANGUAGE_NAMES",
    "LAW_NAMES",
    "NOT_A_CAPABILITY_VERB",
    "NOT_A_COUNT_AFTER",
    "NOT_A_LANGUAGE_AFTER",
    "NOT_A_RULE_AFTER",
    "Lexicon",
    "VACUOUS",
    "MEASURABLE",
    "PASSIVE_BEFORE",
    "PEOPLE",
    "PRESENT_TENSE",
    "RULE_VERBS",
    "RULE_WORDS",
    "STANDARD_NAMES",
]


class Lexicon:
    """Words and phrases (``|``-separated, folded, lower case) plus an optional regex."""

    __slots__ = ("words", "phrases", "pattern")

    def __init__(self, entries: str, pattern: str | None = None) -> None:
        terms = [" ".join(t.split()) for t in entries.replace("\n", " ").split("|") if t.strip()]
        self.words = frozenset(t for t in terms if " " not in t)
        #: first word -> the phrases starting with it, so a text is searched only for the
        #: phrases whose first word it has
        self.phrases: dict[str, tuple[str, ...]] = {}
        for t in terms:
            if " " in t:
                first = t.split(" ", 1)[0]
                self.phrases[first] = self.phrases.get(first, ()) + (f" {t} ",)
        self.pattern = re.compile(pattern) if pattern else None

    def match(self, tokens: frozenset[str], padded: str, folded: str) -> bool:
        """Whether the text (its token set, `` word word `` form and folded form) uses an entry."""
        if not self.words.isdisjoint(tokens):
            return True
        for first in tokens.intersection(self.phrases):
            if any(p in padded for p in self.phrases[first]):
                return True
        return self.pattern is not None and self.pattern.search(folded) is not None


_STANDARDS = """wcag|tls|ssl|https|aes|rsa|sha|gdpr|rgpd|lopd|lopdgdd|hipaa|pci|iso|iec|soc|owasp|ada|
fips|fda|cfr|oauth|oauth2|openid|saml|sox|ferpa|coppa|ccpa|nist|mfa|2fa|ens|eidas|psd2|sca|hl7|fhir|
dicom|gs1|emv|ean|section 508|en 301 549|two factor|dos factores"""
_COUNTS = """two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|
sixty|hundred|thousand|million|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|quince|veinte|treinta|
cuarenta|cincuenta|cien|mil|percent|por ciento"""
_MONTHS = """january|february|march|april|may|june|july|august|september|october|november|december|
enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre"""

_LANGUAGES = """english|spanish|french|german|catalan|basque|galician|portuguese|italian|welsh|dutch|polish|
arabic|chinese|tagalog|vietnamese|ingles|espanol|castellano|euskera|gallego|frances|aleman"""
#: a named language -> its code, for the languages a document states (``facts``): the names of
#: ``_LANGUAGES`` (the measurable list) but "polish", a verb as often as a language
LANGUAGE_NAMES: Mapping[str, str] = MappingProxyType(
    {
        name: code
        for code, names in {
            "en": "english ingles", "es": "spanish espanol castellano", "fr": "french frances",
            "de": "german aleman", "ca": "catalan", "eu": "basque euskera", "gl": "galician gallego",
            "pt": "portuguese", "it": "italian", "cy": "welsh", "nl": "dutch", "ar": "arabic",
            "zh": "chinese", "tl": "tagalog", "vi": "vietnamese",
        }.items()
        for name in names.split()
    }
)  # fmt: skip
#: a law's name (folded) -> the law, for the laws a document imposes (``facts``): GDPR and RGPD
#: are one law; technical and industry standards (TLS, WCAG, ISO 27001, PCI DSS) are not laws
LAW_NAMES: Mapping[str, str] = MappingProxyType(
    {
        name: law
        for law, names in {
            "gdpr": "gdpr|rgpd|general data protection regulation|general data protection regulations|"
            "reglamento general de proteccion de datos",
            "lopdgdd": "lopd|lopdgdd|ley organica de proteccion de datos",
            "hipaa": "hipaa|health insurance portability and accountability act",
            "ccpa": "ccpa|cpra|california consumer privacy act|california privacy rights act",
            "coppa": "coppa|children's online privacy protection act|childrens online privacy protection act",
            "ferpa": "ferpa|family educational rights and privacy act",
            "sox": "sox|sarbanes-oxley|sarbanes oxley", "psd2": "psd2", "eidas": "eidas",
        }.items()
        for name in names.split("|")
    }
)  # fmt: skip
#: words that state a rule in a concept ("must comply with", "labour law on rest periods",
#: "regulators require"): a concept segment using one states a rule its document has to keep
#: (``content``'s ``dropped_limit:rule``); narrower than ``CONSTRAINT_KINDS["regulation"]``, whose
#: "licence", "policy", "consent" or "authority" name things as often as rules, and without
#: Spanish "cumplir" ("cuando los socios cumplan años", "cumplir sus turnos")
RULE_WORDS = frozenset(
    """comply complies complying compliance compliant law laws legislation regulation regulations
    regulator regulators regulatory ley leyes legislacion regulacion normativa normativas
    reglamento""".split()
)
#: verbs that tie a product to a rule ("must respect labour law", "follow", "satisfy"): not what
#: the rule is about, so never one of its own words
RULE_VERBS = frozenset(
    """respect respects follow follows meet meets satisfy satisfies observe observes obey obeys adhere
    adheres abide abides conform conforms honour honor respetar respete seguir siga cumplir cumpla""".split()
)
#: a rule word followed by one of these (or by a noun naming people, ``PEOPLE``) names people or
#: an organisation, not a rule: "compliance officers", "a small law firm", "a family law practice"
NOT_A_RULE_AFTER = frozenset(
    """firm firms practice practices office offices school schools student students enforcement
    officer officers team teams department departments clerk clerks despacho despachos bufete
    bufetes""".split()
)
#: standards and agencies a concept can require, by a short name -> the regular expression of
#: their names (folded text; a group, when there is one, is the number that tells two of them
#: apart: ISO 9001 is not ISO 27001). ``facts.rule_names`` gives each its canonical name, which
#: has no "and" or comma, so cutting a concept into segments cannot cut a name in two. Laws
#: are ``LAW_NAMES``'s; these are not laws, so ``unstated_fact`` does not read them. Bare "ISO",
#: "SOC" or "Ada" name no standard ("set the ISO", "our SOC team", "Ada's Kitchen")
STANDARD_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "pcidss": r"pci[\s-]?dss|payment card industry(?: data security standards?)?",
        "wcag": r"wcag|web content accessibility guidelines",
        "ada": r"americans with disabilities act|ada[\s-]complian(?:t|ce)|the ada\b",
        "fda": r"fda|food and drug administration",
        "cfr": r"(?:\d{1,2}\s)?cfr(?:\s(?:part\s)?(\d{1,4}))?|\bpart\s(11)|code of federal regulations",
        "iso": r"iso\s?(?:/\s?iec\s?)?(\d{4,5})",
        "soc": r"soc\s?(2|ii|1|i)\b",
        "osha": r"osha|occupational safety and health administration",
        "nist": r"nist(?:\s(?:sp\s)?(\d{3}-\d{1,3}))?",
        "fips": r"fips\s?(140-[23])",
        "owasp": r"owasp",
        "section508": r"section\s508",
        "en301549": r"en\s301\s549",
    }
)
#: words between an actor and the verb it does ("members will be able to book", "staff can also
#: swap"): ``content``'s ``wrong_actor`` skips them to find who does a capability
ACTOR_AUXILIARIES = frozenset(
    """will would shall should must can could may might need needs needed want wants wanted have has be
    able to also just then easily quickly directly usually often always""".split()
)
#: right before a verb, a passive or a copula ("are notified", "is released", "get paid"): the
#: word before it is not the one who does it
PASSIVE_BEFORE = frozenset("be been being is are was were get gets got".split())
#: verbs too common to tell which capability of a concept a requirement is about
NOT_A_CAPABILITY_VERB = frozenset("be have get use make do manage".split())
#: a language name followed by one of these names a place or a people, not a language
#: ("spanish data protection law", "german market")
NOT_A_LANGUAGE_AFTER = frozenset(
    """law laws legislation regulation regulations rules data market markets company companies
    government tax taxes authority authorities bank banks court courts citizens residents
    cuisine food wine ley leyes normativa mercado empresa empresas gobierno""".split()
)
#: nouns naming people (or households) that a head count counts: "500 students", "300 socios"
PEOPLE = frozenset(
    """users customers clients members students pupils learners employees staff workers
    patients people persons visitors guests volunteers tenants residents drivers riders passengers
    teachers tutors parents children kids families households subscribers attendees participants
    players athletes donors buyers sellers shoppers travellers travelers citizens owners agents
    technicians nurses doctors physicians therapists coaches instructors managers supervisors
    farmers growers homeowners landlords contractors freelancers readers viewers listeners fans
    caregivers carers seniors adults teens teenagers applicants candidates accounts usuarios
    clientes socios miembros alumnos estudiantes pacientes empleados trabajadores personas
    visitantes huespedes voluntarios inquilinos vecinos residentes conductores pasajeros
    profesores docentes padres familias ninos ninas jovenes hogares suscriptores asistentes
    participantes jugadores deportistas donantes compradores vendedores ciudadanos propietarios
    agentes tecnicos enfermeras enfermeros medicos entrenadores monitores gerentes supervisores
    agricultores cuidadores lectores cuentas""".split()
)
#: a number right after one of these is a label or a version, not a count ("android 12 users",
#: "grade 5 students", "tier 1 customers")
NOT_A_COUNT_AFTER = frozenset(
    """android ios windows macos version versions v wcag covid grade grades year years level levels
    tier tiers phase phases step steps stage top page room floor class group team zone area route
    line gate ward unit number no nr curso grupo nivel fase planta aula""".split()
)
#: words that may stand between a number and the people it counts ("500 concurrent users")
COUNT_MODIFIERS = frozenset(
    """concurrent simultaneous active registered daily monthly weekly unique new more additional
    paying online total regular expected current existing individual different logged-in signed-in
    nuevos nuevas mas activos activas registrados registradas""".split()
)
#: a universal or periodic quantifier makes a requirement checkable too ("every access shall
#: be logged", "reconcile daily", "never store card numbers")
_QUANTIFIERS = """every|each|all|daily|hourly|weekly|monthly|yearly|annually|nightly|per|exactly|never|always|
only|cannot|none|cada|todos|todas|diario|diaria|diariamente|semanal|mensual|nunca|siempre|solo|exactamente"""
#: a target a reader can check: a number, a count word, a named standard, named languages
#: or a quantifier
MEASURABLE = Lexicon("|".join((_STANDARDS, _COUNTS, _LANGUAGES, _QUANTIFIERS)), r"\d")
#: words that say nothing about what a product does ("The system shall do what the product
#: does", "perform a task"): a requirement made only of these and generic words is filler
VACUOUS = frozenset(
    """do does doing done perform performs performed task tasks thing things stuff work works
    working function functions functionality functionalities feature features operate operates
    operation operations process processes action actions activity activities everything
    something anything what whatever needed necessary required hacer realizar tarea tareas cosa
    cosas funcion funciones funcionalidad algo todo necesario""".split()
)
#: words without which a sentence cannot be an actor-capability sentence (a cheap pre-test
#: before ``content._CAPABILITY_RE``)
CAPABILITY_CUES = frozenset(
    """shall should must will can could able allow allows let lets enable enables permit permits podra
    podran permitir permitira permitiran permite permiten""".split()
)
#: what makes a sentence a constraint, by kind
CONSTRAINT_KINDS: Mapping[str, Lexicon] = MappingProxyType(
    {
        "budget": Lexicon(
            """usd|eur|gbp|budget|budgets|cost|costs|spend|spending|funding|funded|price|pricing|fee|
        fees|grand|euro|euros|dollar|dollars|pound|pounds|presupuesto|coste|costes|costo|costos|financiacion|
        precio|cuota""",
            r"[$€£]|\d\s?k\b",
        ),
        "deadline": Lexicon(
            _MONTHS
            + """|deadline|launch|launched|live|ready|release|released|delivered|delivery|
        ship|shipped|month|months|week|weeks|day|days|year|years|spring|summer|autumn|fall|winter|season|
        plazo|plazos|meses|mes|semana|semanas|dias|ano|lanzamiento|lanzar|entrega|entregar|listo|lista|
        primavera|verano|otono|invierno|temporada|fase|phase|pilot|piloto|mvp|before|until|antes|advent|
        christmas|easter|navidad|term|semester|curso|q1|q2|q3|q4|first version|first release|
        primera version|no later than|semana santa""",
            r"\b20[2-4]\d\b",
        ),
        "regulation": Lexicon(
            _STANDARDS
            + """|comply|complies|compliance|compliant|regulation|regulations|
        regulatory|regulated|regulator|regulators|law|laws|legal|legally|legislation|licence|license|licences|
        licenses|licensed|licenced|licensing|licencing|consent|audit|audits|accredited|certified|certification|
        policy|policies|rules|tariff|tariffs|commission|authority|ordinance|code|codes|standard|standards|ley|
        leyes|normativa|norma|cumplir|cumplimiento|reglamento|licencia|consentimiento|auditoria|certificado|
        certificada|politica|tarifa|tarifas|conforme|in accordance|according to|de acuerdo con"""
        ),
        "platform": Lexicon("""ios|android|ipad|iphone|web|browser|browsers|chrome|safari|firefox|windows|macos|mac|
        linux|mobile|tablet|tablets|desktop|desktops|smartphone|smartphones|phone|phones|kiosk|kiosks|screen|
        screens|printer|scanner|navegador|navegadores|movil|moviles|escritorio|telefono|tableta|pantalla|pwa|
        whatsapp|sms|email|laptop|laptops|computer|computers|pc|pcs|ordenador|ordenadores|portatil|app store|
        google play"""),
        "technology": Lexicon("""aws|azure|gcp|cloud|server|servers|database|databases|api|apis|integrate|integrates|
        integrated|integration|integrations|existing|legacy|current|currently|sap|salesforce|shopify|stripe|
        paypal|quickbooks|xero|excel|spreadsheet|spreadsheets|erp|crm|pos|sso|hardware|device|devices|offline|
        internet|connectivity|bandwidth|wifi|gps|bluetooth|nfc|qr|barcode|technology|stack|vendor|vendors|
        provider|providers|framework|hosting|hosted|host|premise|premises|region|eu|uk|europe|integrar|
        integrarse|integracion|existente|existentes|actual|actuales|servidor|servidores|conexion|nube|proveedor|
        proveedores|alojado|alojada|alojamiento|tecnologia|dispositivo|dispositivos|mediante|via|using|usando|
        bizum|sepa|import|imports|export|exports|sync|synchronise|synchronize|importar|exportar|sincronizar|
        maintainable|mantenible|signal|coverage|cobertura|open source|third party|data centre|data center|
        sistema actual|base de datos|codigo abierto|software libre|a traves"""),
        "staffing": Lexicon("""team|teams|staff|staffed|person|people|developer|developers|volunteer|volunteers|
        contractor|contractors|maintain|maintained|maintenance|support|supported|training|hire|hiring|headcount|
        equipo|personal|persona|personas|desarrollador|desarrolladores|voluntario|voluntarios|mantenimiento|
        mantener|soporte|formacion"""),
        "language": Lexicon("""english|spanish|french|german|catalan|basque|galician|portuguese|italian|welsh|dutch|
        polish|arabic|chinese|tagalog|vietnamese|language|languages|multilingual|bilingual|translated|ingles|
        espanol|castellano|euskera|gallego|frances|aleman|idioma|idiomas|bilingue|multilingue"""),
        "scope": Lexicon(
            """never|only|limited|limit|maximum|minimum|except|excluding|cannot|nunca|solo|solamente|
        unicamente|maximo|minimo|hasta|excepto|limite|limitado|cover|covers|both|all|across|single|cubrir|todas|
        todos|ambas|ambos|"""
            + _COUNTS
            + """|must not|shall not|may not|can not|no more than|at most|at least|
        up to|out of scope|not include|no debe|no deben|no debera|no podra|como maximo|como minimo|
        fuera del alcance""",
            r"\d",
        ),
    }
)
#: what a team hands over with a product: a hand-over constraint ("must be delivered with user
#: documentation", "handed over with its source code") limits something only when it names one
DELIVERABLES = Lexicon("""documentation|docs|document|documents|manual|manuals|guide|guides|handbook|
handbooks|tutorial|tutorials|training|source code|code|deployment|installation|instructions|runbook|
runbooks|test|tests|test suite|credentials|backup|backups|export|migration|support|maintenance|
documentacion|documento|documentos|manuales|guia|guias|formacion|codigo|despliegue|instalacion|
instrucciones|pruebas|soporte|mantenimiento""")
#: the requirements document itself: handing it over with the product is no deliverable ("must
#: be delivered with its functional requirements document")
DOCUMENT_ITSELF = frozenset(
    """requirement requirements specification specifications spec specs requisito requisitos
    especificacion especificaciones""".split()
)
#: a concept segment with one of these states a deadline, not a capability
DEADLINE_WORDS = Lexicon("""deadline|launch|launched|go live|goes live|be live|ready|release|released|before|
until|no later than|plazo|antes|lanzar|lanzamiento|listo|lista|entrega""")
#: a concept segment that says how things are done today, or how big the organisation is
PRESENT_TENSE = Lexicon(
    """currently|today|paper|spreadsheet|spreadsheets|excel|manually|actualmente|hoy|papel|
a mano|at the moment|right now|at present|lives in|by hand|ahora mismo|hoja de calculo""",
    r"\b(?:about|around|roughly|approximately|approx|some|over|nearly|almost|unos|unas|"
    r"alrededor de|aproximadamente|cerca de|mas de)\s+\d",
)
#: generic filler that would fit any product
FILLER = Lexicon("""perform a task|perform tasks|perform the task|perform its tasks|perform various tasks|
do tasks|secure and accessible|accessible and secure|secure and reliable way|user friendly|easy to use|
intuitive and|high quality|robust and scalable|scalable and robust|seamless|seamlessly|state of the art|
best practices|as needed|as required|work properly|works properly|work well|works well|function properly|
functions properly|meet the needs|meets the needs|meet user needs|meet the requirements|meets the requirements|
efficient and effective|effective and efficient|all necessary|various features|and so on|etc|
in a timely manner|fast and reliable|reliable and fast|good performance|perform well|performs well|
great user experience|good user experience|facil de usar|faciles de usar|de forma segura y accesible|
segura y accesible|alta calidad|de manera eficiente|buenas practicas|funcionar correctamente|
funcione correctamente|cumplir con los requisitos|realizar tareas|realizar una tarea|sin problemas""")
