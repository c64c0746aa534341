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
