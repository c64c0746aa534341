"""Writes the data files of the example task `match-reports.yaml` (kept in the repository; run
again only to change them): a short report of a match (football, basketball, tennis, chess,
cricket or a pub quiz) and some of its facts to fill as one JSON object, with names, whole
numbers, yes-or-no answers, decimal numbers and lists of numbers among them:

    Report: Penrith Wanderers hosted Marlow Athletic at Elm Road in Utrecht in a league game.
    Marlow Athletic beat Penrith Wanderers 3–2. Scorers: Dube 13, Alvarez 39, Petrov 64,
    Fischer 75, Rossi 50. Penrith Wanderers had 58% of the ball.
    Keys: extra_time (true or false), away_team (text), home_win (true or false)
    JSON: {"extra_time": false, "away_team": "Marlow Athletic", "home_win": false}

    python docs/examples/match-reports/make_data.py

Some facts take a little reading: the winner follows from the score (or from who resigned,
or from the runs each side made), the first scorer from the minutes, the home side from who
hosted whom, and a tennis match may be told from the loser's side. Every value is in the
report as the `json` value finds it: a name as written, a number in digits (scores are
written with an en dash, 3–1, so that no number reads as negative), a yes or no said in
words or by the score. Each record has `report` (where the value looks: `source=report`),
`keys`, `schema`, `fields`, `solution` and `kind` (the sport), as order-forms' records do;
test.jsonl adds an `id`. train.jsonl holds 2000 records, validation.jsonl and test.jsonl 300
each, shots.jsonl three solved examples of three keys each (a quiz, tennis and football;
basketball, chess and cricket are left for the model to work out). Sentences that carry only
a side fact (the attendance, the aces, a ticket price) are left out at times, and their keys
with them. No report is in two files.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from correct.tasks.make import distinct, one_of_each, split, write_files

HERE = Path(__file__).parent
DASH = "\u2013"  # an en dash: "3–1" reads as 3 and 1, where "3-1" would read as 3 and -1

CITIES = ["Porto", "Lyon", "Bremen", "Turin", "Bilbao", "Gdansk", "Utrecht", "Cork", "Graz", "Malmo", "Tampere"]
CITIES += ["Seville", "Bergen", "Leeds", "Perth", "Austin", "Kyoto", "Valencia", "Dundee", "Ghent"]
SURNAMES = ["Silva", "Novak", "Reyes", "Okafor", "Larsen", "Tanaka", "Moreau", "Rossi", "Haddad", "Petrov"]
SURNAMES += ["Alvarez", "Brennan", "Duarte", "Fischer", "Hughes", "Ito", "Jensen", "Kowalski", "Dube", "Varga"]
FIRST = ["Anna", "Ben", "Chloe", "David", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Keiko", "Liam"]
FIRST += ["Maya", "Nikos", "Olga", "Pablo", "Samir", "Tara", "Viktor", "Wen", "Yusuf", "Zoe"]

CLUBS = ["Ashford Rovers", "Kelby United", "Northgate City", "Marlow Athletic", "Penrith Wanderers"]
CLUBS += ["Dunmore Albion", "Castleford Town", "Harwick Rangers", "Stanmore Villa", "Eastleigh Borough"]
GROUNDS = ["Riverside Park", "Mill Park", "Kingsway Park", "Elm Road", "Victoria Meadow", "Hollins Lane"]
FIVES = ["Harbor Hawks", "Mesa Suns", "Granite Bears", "Bayside Owls", "Prairie Wolves", "Lakeshore Storm"]
FIVES += ["Summit Eagles", "Canyon Foxes", "Delta Herons", "Ironwood Bulls"]
ARENAS = ["Foundry Arena", "Pinecrest Hall", "Dome Center", "Marina Center", "Armory Hall", "Westgate Arena"]
EVENTS_TENNIS = ["Lakeside Open", "Coastal Classic", "Spring Trophy", "Harbour Cup", "Valley Championships"]
ROUNDS_TENNIS = ["final", "semi-final", "quarter-final"]
OPENINGS = ["Sicilian Defence", "Queen's Gambit", "French Defence", "Ruy Lopez", "Caro-Kann Defence"]
OPENINGS += ["King's Indian Defence", "English Opening", "Italian Game", "Dutch Defence", "Scandinavian Defence"]
EVENTS_CHESS = ["Riverside Rapid", "Autumn Open", "City Masters", "Winter Invitational", "Harbour Classic"]
ELEVENS = ["Kent Foxes", "Harbour Hawks", "Eastbrook", "Millbank", "Hillside Strikers", "Old Rectory"]
ELEVENS += ["Norton Green", "Weald Rangers", "Coastal Gulls", "Bramley Park"]
OVALS = ["Church Field", "Oakfield", "Beacon Park", "Rose Lane", "Grange Road"]
QUIZ_TEAMS = ["Quizzly Bears", "The Brainy Bunch", "Fact Hunters", "Les Quizerables", "The Smarty Pints"]
QUIZ_TEAMS += ["Universally Challenged", "Trivia Newton John", "The Know Alls", "Question Marks", "Half Wits"]
PUBS = ["The Red Lion", "The Crown", "The Fox and Hounds", "The Black Swan", "The Ship", "The Rose and Crown"]


def num(x: float) -> str:
    """A number as the report writes it: 57 not 57.0, 57.5 as it is."""
    return str(int(x)) if float(x).is_integer() else str(x)


def money(rng: random.Random, low: int, high: int) -> tuple[float, str]:
    """A price in whole quarters: the value (45.5) and its digits with cents (45.50)."""
    cents = rng.randint(low * 4, high * 4) * 25
    value = cents / 100
    return (int(value) if value.is_integer() else value), f"{cents // 100}.{cents % 100:02d}"


def join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def football(rng: random.Random) -> tuple[list[str], dict, dict]:
    home, away = rng.sample(CLUBS, 2)
    ground, city = rng.choice(GROUNDS), rng.choice(CITIES)
    cup = rng.random() < 0.45
    hg, ag = rng.choice([0, 1, 1, 2, 2, 3, 4]), rng.choice([0, 1, 1, 2, 3])
    minutes = sorted(rng.sample(range(2, 90), hg + ag))
    sides = rng.sample([home] * hg + [away] * ag, hg + ag)
    extra = cup and hg == ag
    if extra:  # a cup tie level after 90 minutes is settled in extra time
        side = rng.choice([home, away])
        hg, ag = hg + (side == home), ag + (side == away)
        minutes.append(rng.randint(92, 119))
        sides.append(side)
    scorers = rng.sample(SURNAMES, len(minutes))
    goals = list(zip(minutes, sides, scorers))
    attendance = rng.randint(30, 420) * 100 + rng.choice([0, 0, rng.randint(1, 99)])
    possession = rng.randint(340, 660) / 10
    possession = int(possession) if possession.is_integer() else possession
    where = rng.choice(["in the cup", "in a cup tie"]) if cup else rng.choice(["in the league", "in a league game"])
    setting = rng.choice(
        [
            f"{home} hosted {away} at {ground} in {city} {where}.",
            f"{away} travelled to {city} to face {home} at {ground} {where}.",
            f"{home} were at home to {away} at {ground}, {city}, {where}.",
        ]
    )
    if hg == ag:
        score = rng.choice(
            [
                f"{home} and {away} drew {hg}{DASH}{ag}.",
                f"Final score: {home} {hg}, {away} {ag}.",
                f"It ended {hg}{DASH}{ag}.",
            ]
        )
    else:
        win, lose, wg, lg = (home, away, hg, ag) if hg > ag else (away, home, ag, hg)
        score = rng.choice(
            [
                f"Final score: {home} {hg}, {away} {ag}.",
                f"The match ended {home} {hg}{DASH}{ag} {away}.",
                f"{win} beat {lose} {wg}{DASH}{lg}.",
                f"{lose} lost {lg}{DASH}{wg} to {win}.",
                f"It finished {away} {ag}, {home} {hg}.",
            ]
        )
    lines = [setting, score]
    if goals:
        style = rng.randrange(4)
        if style == 0:
            lines.append("Goals: " + ", ".join(f"{s} {m}" for m, _, s in goals) + ".")
        elif style == 1:
            lines.append("The goals came from " + join([f"{s} ({m}')" for m, _, s in goals]) + ".")
        elif style == 2:
            lines.append("Scorers: " + ", ".join(f"{s} {m}" for m, _, s in rng.sample(goals, len(goals))) + ".")
        else:
            parts = [f"{t}: " + ", ".join(f"{s} {m}" for m, tt, s in goals if tt == t) for t in (home, away)]
            lines.append("Scorers for " + "; ".join(p for p in parts if not p.endswith(": ")) + ".")
    else:
        lines.append(rng.choice(["Nobody scored.", "There were no goals."]))
    if cup:
        lines.append(
            rng.choice(["The tie went to extra time.", "It needed extra time."])
            if extra
            else rng.choice(["It was settled inside 90 minutes.", "No extra time was needed."])
        )
    ball = rng.choice([f"{home} had {possession}% of the ball.", f"Possession: {home} {possession} per cent."])
    crowd = rng.choice(
        [f"A crowd of {attendance} watched.", f"Attendance: {attendance}.", f"{attendance} fans were there."]
    )
    lines += [(ball, ["home_possession"]), (crowd, ["attendance"])]
    fields = {"home_team": home, "away_team": away, "home_score": hg, "away_score": ag, "venue": ground}
    fields.update(city=city, attendance=attendance, extra_time=extra, home_win=hg > ag, home_possession=possession)
    types = {"home_team": "text", "away_team": "text", "home_score": "integer", "away_score": "integer"}
    types.update(venue="text", city="text", attendance="integer", extra_time="true or false")
    types.update(home_win="true or false", home_possession="number")
    if hg != ag:
        fields["winner"], types["winner"] = (home if hg > ag else away), "text"
    if goals:
        fields["goal_minutes"], types["goal_minutes"] = [m for m, _, _ in goals], "list of numbers"
        fields["first_scorer"], types["first_scorer"] = goals[0][2], "text"
    opener = lines[:1]
    rest = lines[1:3] + rng.sample(lines[3:], len(lines) - 3)
    return opener + rest, fields, types


def basketball(rng: random.Random) -> tuple[list[str], dict, dict]:
    home, away = rng.sample(FIVES, 2)
    arena, city = rng.choice(ARENAS), rng.choice(CITIES)
    quarters = [rng.randint(14, 34) for _ in range(4)]
    hp = sum(quarters)
    overtime = rng.random() < 0.25
    ap = hp if overtime else hp + rng.choice([-1, 1]) * rng.randint(1, 24)
    extra_h = extra_a = 0
    if overtime:
        extra_h, extra_a = rng.sample(range(4, 17), 2)
    hp, ap = hp + extra_h, ap + extra_a
    star = f"{rng.choice(FIRST)} {rng.choice(SURNAMES)}"
    star_points = rng.randint(18, 44)
    attendance = rng.randint(40, 199) * 100 + rng.randint(0, 99)
    price, price_text = money(rng, 18, 90)
    win, lose, wp, lp = (home, away, hp, ap) if hp > ap else (away, home, ap, hp)
    setting = rng.choice(
        [
            f"{home} hosted {away} at {arena} in {city}.",
            f"{away} visited {arena}, {city}, to play {home}.",
            f"At {arena} in {city}, {home} welcomed {away}.",
        ]
    )
    score = rng.choice(
        [
            f"Final: {home} {hp}, {away} {ap}.",
            f"{win} beat {lose} {wp}{DASH}{lp}.",
            f"It finished {away} {ap}, {home} {hp}.",
            f"{lose} went down {lp}{DASH}{wp} to {win}.",
        ]
    )
    lines = [setting, score]
    q = join([str(x) for x in quarters])
    by_quarter = rng.choice([f"By quarter, {home} scored {q}.", f"{home} put up {q} points in the four quarters."])
    lines.append((by_quarter, ["home_quarters"]))
    if overtime:
        lines.append(
            rng.choice(
                [
                    f"The game went to overtime, where {home} added {extra_h}.",
                    f"Overtime was needed; {home} scored {extra_h} in it.",
                ]
            )
        )
    else:
        lines.append(rng.choice(["There was no overtime.", "It was decided in regulation."]))
    best = rng.choice([f"{star} led all scorers with {star_points} points.", f"{star} top-scored with {star_points}."])
    crowd = rng.choice(
        [f"A crowd of {attendance} paid ${price_text} a ticket.", f"Tickets cost ${price_text}, and {attendance} came."]
    )
    lines += [(best, ["top_scorer", "top_points"]), (crowd, ["attendance", "ticket_price"])]
    fields = {"home_team": home, "away_team": away, "home_score": hp, "away_score": ap, "winner": win}
    fields.update(venue=arena, city=city, overtime=overtime, home_win=hp > ap)
    fields.update(
        home_quarters=quarters, top_scorer=star, top_points=star_points, attendance=attendance, ticket_price=price
    )
    types = {"home_team": "text", "away_team": "text", "home_score": "integer", "away_score": "integer"}
    types.update(winner="text", venue="text", city="text", overtime="true or false", home_win="true or false")
    types.update(home_quarters="list of numbers", top_scorer="text", top_points="integer", attendance="integer")
    types.update(ticket_price="number")
    return lines[:2] + rng.sample(lines[2:4], 2) + rng.sample(lines[4:], 2), fields, types


def tennis_set(rng: random.Random) -> tuple[int, int]:
    """A set's games, its winner's first."""
    return rng.choice([(6, rng.randint(0, 4)), (6, rng.randint(0, 4)), (7, 5), (7, 6)])


def tennis(rng: random.Random) -> tuple[list[str], dict, dict]:
    first, second = rng.sample(FIRST, 2)
    win, lose = f"{first} {rng.choice(SURNAMES)}", f"{second} {rng.choice(SURNAMES)}"
    if win.split()[1] == lose.split()[1]:
        return [], {}, {}
    need = rng.choice([2, 2, 3])
    lost = rng.randint(0, need - 1)
    order = rng.sample([True] * (need - 1) + [False] * lost, need - 1 + lost) + [True]
    sets = []
    for won in order:
        a, b = tennis_set(rng)
        sets.append((a, b) if won else (b, a))
    tie = any(max(s) == 7 and min(s) == 6 for s in sets)
    event, rnd, city = rng.choice(EVENTS_TENNIS), rng.choice(ROUNDS_TENNIS), rng.choice(CITIES)
    aces, minutes = rng.randint(2, 24), rng.randint(62, 241)
    mine = ", ".join(f"{a}{DASH}{b}" for a, b in sets)
    theirs = ", ".join(f"{b}{DASH}{a}" for a, b in sets)
    result = rng.choice(
        [
            f"{win} beat {lose} {mine} in the {rnd} of the {event} in {city}.",
            f"In the {rnd} of the {event} in {city}, {lose} lost {theirs} to {win}.",
            f"{lose} went down {theirs} against {win} in the {event} {rnd}, played in {city}.",
            f"The {event} {rnd} in {city} went to {win}, {mine}, against {lose}.",
        ]
    )
    lines = [result]
    lines.append(rng.choice([f"It was {need} sets to {lost}.", f"The match finished {need} sets to {lost}."]))
    if tie:
        ties = sum(max(s) == 7 and min(s) == 6 for s in sets)
        many = (
            f"{['Two', 'Three', 'Four', 'Five'][ties - 2]} sets went to tie-breaks."
            if ties > 1
            else "One set went to a tie-break."
        )
        lines.append(rng.choice([many, "A tie-break was needed." if ties == 1 else "Tie-breaks were needed."]))
    elif rng.random() < 0.5:
        lines.append("There was no tie-break.")
    lines.append((rng.choice([f"{win} served {aces} aces.", f"The winner hit {aces} aces."]), ["aces"]))
    lines.append((rng.choice([f"It lasted {minutes} minutes.", f"The match took {minutes} minutes."]), ["minutes"]))
    fields = {"winner": win, "runner_up": lose, "sets_won": need, "sets_lost": lost}
    fields.update(winner_games=[a for a, _ in sets], tie_break=tie, city=city, aces=aces)
    fields["minutes"] = minutes
    types = {"winner": "text", "runner_up": "text", "sets_won": "integer", "sets_lost": "integer"}
    types.update(winner_games="list of numbers", tie_break="true or false", city="text")
    types.update(aces="integer", minutes="integer")
    return lines[:1] + rng.sample(lines[1:], len(lines) - 1), fields, types


def chess(rng: random.Random) -> tuple[list[str], dict, dict]:
    white, black = (f"{f} {s}" for f, s in zip(rng.sample(FIRST, 2), rng.sample(SURNAMES, 2)))
    opening, event, city = rng.choice(OPENINGS), rng.choice(EVENTS_CHESS), rng.choice(CITIES)
    rnd, moves = rng.randint(1, 11), rng.randint(19, 87)
    outcome = rng.choice(["white", "white", "black", "black", "draw"])
    setting = rng.choice(
        [
            f"In round {rnd} of the {event} in {city}, {white} had the white pieces against {black}.",
            f"{black} played black against {white} in round {rnd} of the {event}, {city}.",
            f"Round {rnd} of the {event} in {city} paired {white} (white) with {black} (black).",
        ]
    )
    lines = [
        setting,
        (rng.choice([f"Opening: {opening}.", f"It was a {opening} game."]), ["opening"]),
    ]
    if outcome == "draw":
        lines.append(rng.choice([f"It was drawn after {moves} moves.", f"They agreed a draw on move {moves}."]))
    else:
        win, lose = (white, black) if outcome == "white" else (black, white)
        sign = f"1{DASH}0" if outcome == "white" else f"0{DASH}1"
        lines.append(
            rng.choice(
                [
                    f"{lose} resigned after {moves} moves.",
                    f"{win} won in {moves} moves.",
                    f"The result was {sign} after {moves} moves.",
                    f"{lose} was checkmated on move {moves}.",
                ]
            )
        )
    fields = {"white": white, "black": black, "opening": opening, "city": city}
    fields.update(round=rnd, moves=moves, draw=outcome == "draw")
    types = {"white": "text", "black": "text", "opening": "text", "city": "text"}
    types.update(round="integer", moves="integer", draw="true or false")
    if outcome != "draw":
        fields["winner"], types["winner"] = (white if outcome == "white" else black), "text"
        fields["white_won"], types["white_won"] = outcome == "white", "true or false"
    return [lines[0], *rng.sample(lines[1:], 2)], fields, types


def cricket(rng: random.Random) -> tuple[list[str], dict, dict]:
    first, second = rng.sample(ELEVENS, 2)
    ground, city = rng.choice(OVALS), rng.choice(CITIES)
    runs, wickets = rng.randint(140, 330), rng.randint(3, 10)
    overs = 50 if wickets < 10 else rng.randint(34, 49) + rng.randint(1, 5) / 10
    tied = rng.random() < 0.15
    chased = tied or rng.random() < 0.5
    if tied:
        chase, chase_wk, chase_overs = runs, rng.randint(4, 9), 50
    elif chased:
        chase, chase_wk = runs + rng.randint(1, 4), rng.randint(2, 8)
        chase_overs = rng.randint(36, 49) + rng.randint(0, 5) / 10
    else:
        chase, chase_wk = runs - rng.randint(2, 90), rng.choice([10, 10, rng.randint(5, 9)])
        chase_overs = 50 if chase_wk < 10 else rng.randint(30, 49) + rng.randint(1, 5) / 10
    chase_overs = int(chase_overs) if float(chase_overs).is_integer() else chase_overs
    bat, bat_score = rng.choice(SURNAMES), rng.randint(41, 131)
    if tied:
        win = rng.choice([first, second])
    else:
        win = second if chased else first

    def innings(team: str, r: int, w: int, o: float, verb: str) -> str:
        if w == 10:
            return f"{team} lost all 10 wickets for {r} in {num(o)} overs"
        return f"{team} {verb} {r} for {w} in {num(o)} overs"

    setting = rng.choice(
        [
            f"{first} met {second} at {ground}, {city}.",
            f"At {ground} in {city}, {first} took on {second}.",
            f"{second} visited {ground} in {city} to play {first}.",
        ]
    )
    lines = [setting, f"Batting first, {innings(first, runs, wickets, overs, 'made')}."]
    lines.append(f"In reply, {innings(second, chase, chase_wk, chase_overs, 'reached' if chased else 'managed')}.")
    if tied:
        lines.append(
            rng.choice(
                [
                    f"The scores were level, and {win} won the super over.",
                    f"A super over settled the tie in favour of {win}.",
                ]
            )
        )
    else:
        lines.append(rng.choice(["No super over was needed.", "There was no super over."]))
    best = rng.choice([f"{bat} top-scored with {bat_score}.", f"The best innings was {bat_score} by {bat}."])
    lines.append((best, ["top_scorer", "top_score"]))
    fields = {"batting_first": first, "winner": win, "first_innings_runs": runs, "wickets_lost": wickets}
    fields.update(chase_overs=chase_overs, super_over=tied, venue=ground, city=city)
    fields.update(top_scorer=bat, top_score=bat_score)
    types = {"batting_first": "text", "winner": "text", "first_innings_runs": "integer", "wickets_lost": "integer"}
    types.update(chase_overs="number", super_over="true or false", venue="text", city="text")
    types.update(top_scorer="text", top_score="integer")
    return lines[:3] + rng.sample(lines[3:], 2), fields, types


def quiz(rng: random.Random) -> tuple[list[str], dict, dict]:
    teams = rng.sample(QUIZ_TEAMS, rng.randint(3, 4))
    rounds = rng.randint(4, 7)
    scores = [rng.randint(3, 10) for _ in range(rounds)]
    top = sum(scores)
    tie = rng.random() < 0.25
    if top - rounds * 3 < len(teams):
        return [], {}, {}
    others = [top] if tie else []
    while len(others) < len(teams) - 1:
        s = rng.randint(rounds * 3, top - 1)
        if s not in others:
            others.append(s)
    win = teams[0]
    table = list(zip(teams, [top, *others]))
    second = next(t for t, s in table[1:] if s == top) if tie else None
    pub, city = rng.choice(PUBS), rng.choice(CITIES)
    host = f"{rng.choice(FIRST)} {rng.choice(SURNAMES)}"
    prize, prize_text = money(rng, 20, 150)
    setting = rng.choice(
        [
            f"{host} ran the quiz at {pub} in {city}, over {rounds} rounds.",
            f"The {city} quiz at {pub} had {rounds} rounds, read by {host}.",
            f"{len(teams)} teams played {rounds} rounds at {pub}, {city}, with {host} as quizmaster.",
        ]
    )
    shown = rng.sample(table, len(table))
    standings = rng.choice(
        [
            "Final scores: " + ", ".join(f"{t} {s}" for t, s in shown) + ".",
            "The totals were " + join([f"{s} for {t}" for t, s in shown]) + ".",
        ]
    )
    lines = [setting, standings]
    if tie:
        lines.append(
            rng.choice(
                [
                    f"{win} and {second} were level, and {win} won the tie-break.",
                    f"A tie-break question split {win} and {second}; {win} got it.",
                ]
            )
        )
    else:
        lines.append(rng.choice(["No tie-break was needed.", "There was no tie-break."]))
    by_round = rng.choice(
        [
            f"Round by round, {win} scored {join([str(x) for x in scores])}.",
            f"{win} got {', '.join(map(str, scores))} in the rounds.",
        ]
    )
    lines.append((by_round, ["winner_round_scores"]))
    lines.append(
        (
            rng.choice([f"The winners took home {prize_text} pounds.", f"First prize was {prize_text} pounds."]),
            ["prize"],
        )
    )
    fields = {"winner": win, "winner_points": top, "rounds": rounds, "winner_round_scores": scores, "tie_break": tie}
    fields.update(host=host, venue=pub, city=city, prize=prize)
    types = {
        "winner": "text",
        "winner_points": "integer",
        "rounds": "integer",
        "winner_round_scores": "list of numbers",
    }
    types.update(tie_break="true or false", host="text", venue="text", city="text", prize="number")
    return lines[:2] + rng.sample(lines[2:], 3), fields, types


SPORTS = {"football": football, "basketball": basketball, "tennis": tennis, "chess": chess}
SPORTS.update(cricket=cricket, quiz=quiz)
KEEP = 0.4
"""The chance that a sentence which may be left out (the attendance, the aces...) is there."""
READING = {"winner", "home_win", "first_scorer", "goal_minutes", "winner_games", "white_won", "winner_points"}
READING |= {"runner_up", "extra_time", "overtime", "home_quarters", "winner_round_scores", "tie_break"}


def make_record(rng: random.Random) -> dict | None:
    kind = rng.choice(sorted(SPORTS))
    lines, fields, types = SPORTS[kind](rng)
    if not lines:
        return None
    said = []
    for line in lines:  # a sentence given with its keys is left out at times, and its facts with it
        if isinstance(line, str) or rng.random() < KEEP:
            said.append(line if isinstance(line, str) else line[0])
        else:
            for key in line[1]:
                del fields[key], types[key]
    keys = rng.sample(list(fields), rng.choice([2, 2, 2, 3, 3, 4]))
    reading = sorted(READING & set(fields) - set(keys))
    if reading and not READING & set(keys) and rng.random() < 0.25:
        keys[rng.randrange(len(keys))] = rng.choice(reading)  # a fact that takes some reading, at times
    schema = {k: types[k] for k in keys}
    wanted = {k: fields[k] for k in keys}
    return {
        "report": " ".join(said),
        "keys": ", ".join(f"{k} ({t})" for k, t in schema.items()),
        "schema": schema,
        "fields": wanted,
        "solution": " " + json.dumps(wanted, ensure_ascii=False),
        "kind": kind,
    }


def main() -> None:
    pool = distinct(2600 + 200, seed=3307, draw=make_record, key="report")
    train, validation, test, reserve = split(pool, 2000, 300, 300)
    full = [r for r in reserve if len(r["schema"]) == 3]  # shots that show three keys
    write_files(HERE, train, validation, test, one_of_each(full, ["quiz", "tennis", "football"]))


if __name__ == "__main__":
    main()
