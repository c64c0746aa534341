from correct.corrector.pool import Draft, Pool


def test_pool_persists_and_reloads(tmp_path):
    path = tmp_path / "pool.jsonl"
    pool = Pool(path)
    pool.add([Draft("p", "a", 0.0, "printed 1"), Draft("p", "b", 1.0), Draft("q", "c", 0.5, origin="corrector@0")])
    again = Pool(path)
    assert len(again) == 3 and again.drafts() == pool.drafts()
    assert again.mean_value() == 0.5
    assert [d.text for d in again.by_prompt["p"]] == ["a", "b"]


def test_torn_last_line_is_cut_before_appending(tmp_path):
    path = tmp_path / "pool.jsonl"
    Pool(path).add([Draft("p", "a", 0.0)])
    with open(path, "a") as f:
        f.write('{"prompt_id": "p", "te')  # killed mid-write
    pool = Pool(path)
    assert len(pool) == 1
    pool.add([Draft("p", "b", 1.0)])
    assert [d.text for d in Pool(path).drafts()] == ["a", "b"]


def test_unknown_values_are_kept_and_left_out_of_the_mean(tmp_path):
    path = tmp_path / "pool.jsonl"
    Pool(path).add([Draft("p", "a", None, "printed 1"), Draft("p", "b", 1.0), Draft("q", "c", 0.5)])
    again = Pool(path)
    assert [d.value for d in again.drafts()] == [None, 1.0, 0.5]
    assert again.mean_value() == 0.75


def test_prompts_with_an_improving_pair_are_counted():
    """A prompt feeds pairs only when two of its known values differ (by more than ε)."""
    pool = Pool()
    pool.add(
        [
            Draft("a", "x", 0.0),
            Draft("a", "y", 1.0),  # a wrong and a right draft: a pair
            Draft("b", "x", 1.0),
            Draft("b", "y", 1.0),  # right twice: identity only
            Draft("c", "x", 0.0),
            Draft("c", "y", None),  # the unknown value is no target
            Draft("d", "x", 0.2),
            Draft("d", "y", 0.25),  # a small gain
        ]
    )
    assert pool.prompts_with_pair() == 2
    assert pool.prompts_with_pair(min_gain=0.1) == 1
    assert pool.prompts_solved(1.0) == 2  # a and b; c's unknown value is not right
    assert pool.prompts_solved(0.25) == 3


def test_a_pair_is_counted_whichever_draft_came_first():
    """The gain is the spread of a prompt's known values, not the distance from its first draft."""
    pool = Pool()
    pool.add(
        [Draft("a", "x", 1.0), Draft("a", "y", 0.0), Draft("b", "x", 0.5), Draft("b", "y", 0.0), Draft("b", "z", 1.0)]
    )
    assert pool.prompts_with_pair() == 2
    assert pool.prompts_with_pair(min_gain=0.9) == 2


def test_drop_says_how_many_went_and_rewrites_the_file(tmp_path):
    path = tmp_path / "pool.jsonl"
    pool = Pool(path)
    pool.add(
        [Draft("a", "x", 0.0), Draft("a", "y", 1.0, origin="corrector@0"), Draft("b", "z", 0.0, origin="corrector@0")]
    )
    assert pool.drop(lambda d: d.origin != "generator") == 2
    assert pool.drop(lambda d: d.origin != "generator") == 0
    assert [d.text for d in Pool(path).drafts()] == ["x"] == [d.text for d in pool.drafts()]


def test_a_reader_never_writes_the_file_it_shares(tmp_path):
    """The other processes of a distributed run hold the pool in memory too, but only the
    writer's appends and rewrites reach the file: else each draft would be there once a process."""
    path = tmp_path / "pool.jsonl"
    Pool(path).add([Draft("a", "x", 0.0), Draft("a", "y", 1.0)])
    before = path.read_bytes()
    reader = Pool(path, writer=False)
    reader.add([Draft("b", "z", 0.5)])
    assert len(reader) == 3 and path.read_bytes() == before
    assert reader.drop(lambda d: d.text == "x") == 1
    assert len(reader) == 2 and path.read_bytes() == before
