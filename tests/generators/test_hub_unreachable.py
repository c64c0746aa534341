"""A hub id on a machine that cannot reach the hub at all (no name service, no route): said at
once, before the hub client's retries (a minute and more of "Retrying in 8s" for each file),
for a generator, a corrector and a value's model; not said through a proxy, in offline mode
(the client fails at once there) or for a model whose files are cached."""

from __future__ import annotations

import huggingface_hub
import huggingface_hub.constants
import pytest

from correct.corrector import model
from correct.corrector.model import Corrector
from correct.generators import GeneratorError, hf, load_generator
from correct.generators.named import PROXIES, hub_unreachable
from correct.values import ValueFunctionError
from correct.values.hf import loading_errors

NAME = "someone-who-does-not-exist/never-cached"


@pytest.fixture
def no_hub(monkeypatch):
    """Online mode, with the hub at a host that never resolves (RFC 6761's .invalid)."""
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", "https://hub.invalid")
    for k in PROXIES:
        monkeypatch.delenv(k, raising=False)

    def tried(*args, **kwargs):
        raise AssertionError("the hub client was asked (and would retry for a minute)")

    monkeypatch.setattr(hf, "_load_pretrained", tried)
    monkeypatch.setattr(model, "_find_config", tried)


def test_an_unreachable_hub_is_said_before_the_client_retries(no_hub):
    unreachable = (
        r"^could not load model '.*': not a local folder and not reachable on the Hugging Face hub \(offline\?\)$"
    )
    with pytest.raises(GeneratorError, match=unreachable):
        load_generator(NAME, backend="hf")
    with pytest.raises(GeneratorError, match=unreachable):
        Corrector.from_pretrained(NAME)
    with pytest.raises(ValueFunctionError, match="could not load toxicity model .* not reachable on the Hugging Face"):
        with loading_errors(NAME, "toxicity model"):
            raise AssertionError("the value's loader was reached")


def test_the_hub_is_not_probed_where_the_client_can_do_without_it(no_hub, monkeypatch, tmp_path):
    assert hub_unreachable(NAME)
    assert not hub_unreachable(str(tmp_path)) and not hub_unreachable("./not/a/hub/id")  # paths are not hub ids
    with monkeypatch.context() as m:  # a proxy reaches the host for us
        m.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
        assert not hub_unreachable(NAME)
    with monkeypatch.context() as m:  # offline mode: the client answers at once from the cache
        m.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
        assert not hub_unreachable(NAME)
    cached = tmp_path / "config.json"
    cached.write_text("{}")
    asked = []

    def from_cache(repo_id, filename):
        asked.append(filename)
        return str(cached) if filename == "adapter_config.json" else None

    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", from_cache)
    assert not hub_unreachable(NAME) and asked == ["config.json", "adapter_config.json"]
