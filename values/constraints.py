"""The ``constraints`` value: the share of a record's concepts that the output uses.

A record carries ``concepts``: a list of strings, or one string of concepts separated by
commas (or ``;`` or ``#``; when there is none of these, by spaces). A concept is found when
its words appear in the output as consecutive word tokens, each in any inflected form:

- nouns: ``dog -> dogs``, ``box -> boxes``, ``city -> cities``, ``potato -> potatoes``, and
  a table of irregular plurals (``child -> children``, ``man -> men``, ``knife -> knives``,
  ``mouse -> mice``, ...) that compounds inherit (``fireman -> firemen``);
- verbs: ``walk -> walks, walked, walking``, ``stop -> stopped, stopping``,
  ``make -> making``, ``cry -> cried, cries``, ``tie -> tying``, ``picnic -> picnicked``, and
  a table of about 200 irregular verbs (``run -> ran``, ``throw -> threw, thrown``,
  ``be -> am, is, are, was, were, been, being``, ...) that prefixed verbs inherit
  (``rerun -> reran``).

Matching is case-insensitive and on word tokens (runs of letters and digits; ``'`` and ``-``
split words, so ``dog's`` contains ``dog``), so ``cat`` is not found in ``category``.
Concepts are taken as base forms (lemmas): forms are generated *from* the concept, never
guessed back from the text, so ``be`` does not match ``bed`` and ``hop`` does not match
``hoped``. Every concept is inflected both as a noun and as a verb, so a few noun-only
words also match a form of some other verb (``unit`` matches ``united``). A concept given in
an inflected form matches itself (and its own regular inflections), not its lemma:
``children`` is not found in "a child".

The matcher is self-contained and rule-based (no downloaded data): a small PyPI package with
a full lexicon (``lemminflect``, 0.8 MB, offline) was considered and used only to check
these rules; it would add a dependency for no gain on the concept vocabularies this value
is meant for.

The value is reference-free: the concepts are part of the task, known at inference time, and
the feedback ("missing: dog, frisbee") names only what the record already shows.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Mapping, Sequence

from .base import Score, ValueError_, record_name, text_of

__all__ = ["ConstraintsValue", "covered", "forms", "parse_concepts", "tokens"]

# ---------------------------------------------------------------------------------------
# Irregular English verbs: base -> (past forms, past participles). Regular alternatives
# that are also in use (hanged, dived, learned, ...) are listed too, since irregular verbs
# get no regular -ed forms from the rules.
_IRREGULAR_VERBS_TEXT = """
arise arose arisen
abide abided,abode abided,abode
awake awoke awoken
be was,were been
bear bore born,borne
beat beat beaten,beat
become became become
begin began begun
bend bent bent
beget begot,begat begotten
bet bet,betted bet,betted
bid bid,bade bid,bidden
bind bound bound
bite bit bitten
bleed bled bled
blow blew blown
break broke broken
breed bred bred
bring brought brought
broadcast broadcast broadcast
build built built
burn burned,burnt burned,burnt
burst burst burst
buy bought bought
can could -
cast cast cast
catch caught caught
choose chose chosen
cling clung clung
come came come
cost cost,costed cost,costed
creep crept crept
cut cut cut
deal dealt dealt
dig dug dug
dive dived,dove dived
do did done
draw drew drawn
dream dreamed,dreamt dreamed,dreamt
drink drank drunk
drive drove driven
dwell dwelt,dwelled dwelt,dwelled
eat ate eaten
fall fell fallen
feed fed fed
feel felt felt
fight fought fought
find found found
flee fled fled
fling flung flung
fly flew flown
forbid forbade forbidden
forecast forecast forecast
foresee foresaw foreseen
forget forgot forgotten
forgive forgave forgiven
freeze froze frozen
get got got,gotten
give gave given
go went gone
grind ground ground
grow grew grown
hang hung,hanged hung,hanged
hew hewed hewn,hewed
have had had
hear heard heard
hide hid hidden
hit hit hit
hold held held
hurt hurt hurt
keep kept kept
kneel knelt,kneeled knelt,kneeled
knit knitted,knit knitted,knit
know knew known
lay laid laid
lead led led
lean leaned,leant leaned,leant
leap leaped,leapt leaped,leapt
learn learned,learnt learned,learnt
leave left left
lend lent lent
let let let
lie lay,lied lain,lied
light lit,lighted lit,lighted
lose lost lost
make made made
may might -
mean meant meant
meet met met
mislead misled misled
mistake mistook mistaken
misunderstand misunderstood misunderstood
mow mowed mown,mowed
outdo outdid outdone
overcome overcame overcome
overhear overheard overheard
oversleep overslept overslept
overtake overtook overtaken
pay paid paid
plead pleaded,pled pleaded,pled
prove proved proven,proved
put put put
quit quit,quitted quit,quitted
read read read
rebuild rebuilt rebuilt
redo redid redone
repay repaid repaid
rethink rethought rethought
rewrite rewrote rewritten
rid rid,ridded rid,ridded
ride rode ridden
ring rang rung
rise rose risen
run ran run
saw sawed sawn,sawed
say said said
see saw seen
seek sought sought
sell sold sold
send sent sent
set set set
sew sewed sewn,sewed
shake shook shaken
shall should -
shave shaved shaved,shaven
shear sheared shorn,sheared
shed shed shed
shine shone,shined shone,shined
shoot shot shot
show showed shown,showed
shrink shrank,shrunk shrunk
shut shut shut
sing sang sung
sink sank sunk
sit sat sat
slay slew slain
sleep slept slept
slide slid slid
sling slung slung
slink slunk slunk
slit slit slit
smite smote smitten
smell smelled,smelt smelled,smelt
sneak sneaked,snuck sneaked,snuck
sow sowed sown,sowed
speak spoke spoken
speed sped,speeded sped,speeded
spell spelled,spelt spelled,spelt
spend spent spent
spill spilled,spilt spilled,spilt
spin spun spun
spit spat,spit spat,spit
split split split
spoil spoiled,spoilt spoiled,spoilt
spread spread spread
spring sprang,sprung sprung
stand stood stood
steal stole stolen
stick stuck stuck
sting stung stung
stink stank,stunk stunk
strew strewed strewn,strewed
stride strode stridden
strike struck struck,stricken
string strung strung
strive strove,strived striven,strived
swear swore sworn
sweep swept swept
swell swelled swollen,swelled
swim swam swum
swing swung swung
take took taken
teach taught taught
tear tore,teared torn,teared
tell told told
think thought thought
throw threw thrown
thrust thrust thrust
tread trod trodden,trod
undergo underwent undergone
understand understood understood
undertake undertook undertaken
undo undid undone
upset upset upset
wake woke,waked woken,waked
wear wore worn
weave wove,weaved woven,weaved
wed wed,wedded wed,wedded
weep wept wept
will would -
win won won
wind wound,winded wound,winded
withdraw withdrew withdrawn
withhold withheld withheld
withstand withstood withstood
wring wrung wrung
write wrote written
"""

# Present-tense forms that the rules do not make.
_PRESENT_FORMS = {"be": ("am", "is", "are"), "have": ("has",), "do": ("does",)}

# Irregular plurals: what the rules (+s, +es, y -> ies, both spellings after -o) do not make.
_IRREGULAR_PLURALS_TEXT = """
child children
man men
woman women
person people,persons
mouse mice
louse lice
goose geese
foot feet
tooth teeth
ox oxen
die dice,dies
penny pennies,pence
sheep sheep
deer deer
fish fish,fishes
moose moose
salmon salmon
trout trout
shrimp shrimp,shrimps
species species
series series
aircraft aircraft
offspring offspring
cactus cacti,cactuses
fungus fungi,funguses
nucleus nuclei
radius radii
stimulus stimuli
alumnus alumni
focus foci,focuses
octopus octopuses,octopi
syllabus syllabi,syllabuses
analysis analyses
axis axes
basis bases
crisis crises
diagnosis diagnoses
ellipsis ellipses
hypothesis hypotheses
oasis oases
parenthesis parentheses
synopsis synopses
thesis theses
criterion criteria
phenomenon phenomena
bacterium bacteria
curriculum curricula,curriculums
datum data
medium media,mediums
memorandum memoranda,memorandums
stadium stadiums,stadia
appendix appendices,appendixes
index indices,indexes
matrix matrices,matrixes
vertex vertices,vertexes
quiz quizzes
knife knives
wife wives
life lives
leaf leaves
loaf loaves
wolf wolves
calf calves
half halves
shelf shelves
elf elves
self selves
thief thieves
sheaf sheaves
scarf scarves,scarfs
hoof hooves,hoofs
wharf wharves,wharfs
dwarf dwarfs,dwarves
staff staffs,staves
money moneys,monies
alga algae
larva larvae
antenna antennae,antennas
formula formulae,formulas
vertebra vertebrae
nebula nebulae,nebulas
genus genera
corpus corpora
passerby passersby
brother brothers,brethren
"""


def _parse_table(text: str) -> dict[str, tuple[str, ...]]:
    table: dict[str, tuple[str, ...]] = {}
    for line in text.strip().splitlines():
        base, *rest = line.split()
        table[base] = tuple(f for field in rest for f in field.split(",") if f != "-")
    return table


IRREGULAR_VERBS: dict[str, tuple[str, ...]] = _parse_table(_IRREGULAR_VERBS_TEXT)
"""Base form -> its past tense and past participle forms."""
IRREGULAR_PLURALS: dict[str, tuple[str, ...]] = _parse_table(_IRREGULAR_PLURALS_TEXT)
"""Singular -> its plural forms."""

# ---------------------------------------------------------------------------------------
# Regular inflection rules.

_VOWELS = set("aeiou")
_SIBILANT_ENDINGS = ("s", "x", "z", "ch", "sh")


def _is_vowel(word: str, i: int) -> bool:
    c = word[i]
    if c in _VOWELS:
        return not (c == "u" and i > 0 and word[i - 1] == "q")  # the u of "qu" is a consonant
    return c == "y" and i > 0 and not _is_vowel(word, i - 1)  # "cry", not "yes" or "play"


def _syllables(word: str) -> int:
    groups, previous = 0, False
    for i in range(len(word)):
        v = _is_vowel(word, i)
        groups += v and not previous
        previous = v
    if word.endswith("e") and not word.endswith(("ee", "ye", "oe", "le")) and groups > 1:
        groups -= 1  # silent e: "make", "rose"
    return max(groups, 1)


def _ends_cvc(word: str) -> bool:
    """Ends consonant-vowel-consonant, the last not w/x/y: "stop", "plan", "quiz"."""
    n = len(word)
    return (n >= 3 and word[-1] not in "wxy" and not _is_vowel(word, n - 1)
            and _is_vowel(word, n - 2) and not _is_vowel(word, n - 3))


def _s_forms(word: str) -> set[str]:
    """Plural of a noun / third person singular of a verb."""
    if word.endswith(_SIBILANT_ENDINGS):
        out = {word + "es"}
        if word.endswith(("s", "z")) and _ends_cvc(word):
            out.add(word + word[-1] + "es")  # "quizzes", "busses"
        return out
    if len(word) > 1 and word.endswith("y") and not _is_vowel(word, len(word) - 2):
        return {word[:-1] + "ies"}
    if word.endswith("o"):
        return {word + "s", word + "es"}  # "photos", "potatoes"
    return {word + "s"}


# Irregular plurals that compounds inherit: "grandchild", "fireman", "penknife", "bookshelf".
_COMPOUND_HEADS = ("man", "child", "person", "mouse", "goose", "foot", "tooth", "knife", "wife",
                   "life", "leaf", "loaf", "wolf", "shelf", "self", "thief", "fish")


def _irregular_plurals(word: str) -> set[str]:
    if word in IRREGULAR_PLURALS:
        return set(IRREGULAR_PLURALS[word])
    for head in _COMPOUND_HEADS:
        if word.endswith(head) and len(word) > len(head):
            return {word[: -len(head)] + p for p in IRREGULAR_PLURALS[head]}
    return set()


def _stems(word: str) -> set[str]:
    """What -ed and -ing attach to, with a doubled final consonant where English doubles it.
    For a monosyllable the rules are clear ("stop" -> "stopp"); for longer words doubling
    depends on stress ("admitted" but "visited"), so both spellings are made."""
    if word.endswith("c") and len(word) > 2 and _is_vowel(word, len(word) - 2):
        return {word + "k"}  # "picnicked", "panicking"
    if _ends_cvc(word):
        doubled = word + word[-1]
        if _syllables(word) > 1 or word[-1] == "s":
            return {word, doubled}  # "visited" / "admitted"; "bused" / "bussed"
        return {doubled}
    if word.endswith("l") and _is_vowel(word, len(word) - 2):
        return {word, word + "l"}  # "fueled" / "fuelled", "dialed" / "dialled"
    return {word}


def _ed_forms(word: str) -> set[str]:
    if word.endswith("e"):
        return {word + "d"}
    if len(word) > 1 and word.endswith("y") and not _is_vowel(word, len(word) - 2):
        return {word[:-1] + "ied"}
    return {stem + "ed" for stem in _stems(word)}


def _ing_forms(word: str) -> set[str]:
    if word.endswith("ie"):
        return {word[:-2] + "ying"}  # "tying", "lying"
    if word.endswith(("ee", "ye", "oe")) or len(word) <= 2:
        return {word + "ing"}  # "seeing", "dyeing", "being"
    if word.endswith(("ue", "ge")):
        return {word[:-1] + "ing", word + "ing"}  # "gluing" / "glueing", "aging" / "ageing"
    if word.endswith("e"):
        return {word[:-1] + "ing"}  # "making"
    return {stem + "ing" for stem in _stems(word)}


# Prefixed irregular verbs inherit the irregular forms: "rerun -> reran", "outgrow -> outgrew".
_VERB_PREFIXES = ("re", "un", "over", "out", "under", "mis", "fore", "up", "with")


def _irregular_past(word: str) -> set[str] | None:
    if word in IRREGULAR_VERBS:
        return set(IRREGULAR_VERBS[word])
    for prefix in _VERB_PREFIXES:
        rest = word[len(prefix):]
        if word.startswith(prefix) and len(rest) >= 2 and rest in IRREGULAR_VERBS:
            # Regular forms too: "relay -> relayed" is not "re" + "lay".
            return {prefix + f for f in IRREGULAR_VERBS[rest]} | _ed_forms(word)
    return None


@lru_cache(maxsize=8192)
def forms(word: str) -> frozenset[str]:
    """Every surface form of one lowercase base word, taken both as a noun and as a verb."""
    word = word.lower()
    if not word.isalpha() or len(word) < 2:
        return frozenset({word})  # numbers, letters and mixed tokens match only themselves
    out = {word} | _s_forms(word) | _ing_forms(word) | _irregular_plurals(word)
    past = _irregular_past(word)
    if past is not None:  # no regular -ed forms: "seed" is not a form of "see"
        out |= past | set(_PRESENT_FORMS.get(word, ()))
    else:
        out |= _ed_forms(word)
    return frozenset(out)


# ---------------------------------------------------------------------------------------
# Tokens, concepts, coverage.

_WORD = re.compile(r"[^\W_]+")
_SEPARATORS = re.compile(r"[,;#\n]")


def tokens(text: str) -> list[str]:
    """Lowercase word tokens: runs of letters and digits."""
    return _WORD.findall(text.lower())


def parse_concepts(concepts: Any) -> list[str]:
    """A list of concept strings, or one string separated by commas/semicolons/``#`` (or by
    spaces when it has none of those) -> the concepts, stripped, empty ones dropped."""
    if concepts is None:
        return []
    if isinstance(concepts, str):
        parts = _SEPARATORS.split(concepts) if _SEPARATORS.search(concepts) else concepts.split()
    else:
        parts = [str(c) for c in concepts]
    return [p.strip() for p in parts if tokens(p)]


def _find(concept_tokens: Sequence[str], text_tokens: Sequence[str]) -> bool:
    options = [forms(w) for w in concept_tokens]
    n = len(options)
    return any(all(text_tokens[i + j] in options[j] for j in range(n))
               for i in range(len(text_tokens) - n + 1))


def covered(concepts: Any, text: str | None) -> list[bool]:
    """For each concept (as ``parse_concepts`` reads them), whether ``text`` uses it."""
    words = tokens(text or "")
    return [_find(tokens(c), words) for c in parse_concepts(concepts)]


class ConstraintsValue:
    name = "constraints"
    max_value = 1.0
    min_value = 0.0
    reference_free = True

    def __call__(self, records: Sequence[Mapping[str, Any]], outputs: Sequence[str]) -> list[Score]:
        if len(records) != len(outputs):
            raise ValueError_(f"value 'constraints' got {len(records)} records for {len(outputs)} outputs")
        # Check every record before scoring anything, so a bad data set fails fast.
        all_concepts = [_check(record, i) for i, record in enumerate(records)]
        return [self._score(concepts, output) for concepts, output in zip(all_concepts, outputs)]

    @staticmethod
    def _score(concepts: list[str], output: Any) -> Score:
        text = text_of(output)
        found = covered(concepts, text)
        missing = [c for c, ok in zip(concepts, found) if not ok]
        feedback = "missing: " + ", ".join(missing) if missing else "all concepts used"
        return Score(sum(found) / len(found), feedback)


def _check(record: Mapping[str, Any], index: int) -> list[str]:
    concepts = parse_concepts(record.get("concepts"))
    if not concepts:
        raise ValueError_(f"value 'constraints': {record_name(record, index)} has no `concepts`; it needs a list of words to use")
    return concepts
