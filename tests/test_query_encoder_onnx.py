"""The ONNX query encoder: made by `shopdesk index`, equal to torch's vectors, loaded without torch,
refused when it drifts, and never the reason a good query fails (nor is a bad text).

One export for the module (the slow part, a few seconds); the rest reuse or fake it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from agent.cli.main import cli
from knowledge import embedding, onnx_encoder, onnx_export, queries
from knowledge.onnx_encoder import OnnxEncoder, clean_text

ROOT = Path(__file__).resolve().parent.parent

# Not the export's own check sample: these must hold on texts the export never saw.
LONG = " ".join(f"token{n} and some padding words" for n in range(200))  # ≫ 256 tokens
TEXTS = [
    "",
    "   ",
    "!",
    "a",
    "Can I send back a mug with my initials on it?",
    "where is my order WK-1001",
    "Is there a restocking fee on furniture returns over $500?",
    "# Care\n\n## Dishwasher\n\nGlazed stoneware is dishwasher safe; hand-wash the gold rim.",
    "¿Puedo devolver un regalo sin el recibo?",
    "Können Sie nach Zürich liefern?",
    "日本への配送は可能ですか",
    "Доставка в Москву возможна?",
    "שלום, איפה החבילה שלי",
    "🚚📦 late again?? 😡",
    "naïve café résumé coöperate",
    "ＦＵＬＬＷＩＤＴＨ letters and ½ ¾ ⅞ fractions",
    "line one\nline two\ttabbed\r\nline three",
    "yes",
    LONG,
    "refund " * 500,
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The export as a deployment makes it: `shopdesk index` on a fresh data directory."""
    root = tmp_path_factory.mktemp("onnx")
    kb = root / "kb"
    kb.mkdir()
    (kb / "returns.md").write_text("# Returns\n\n## Window\n\nWithin 30 days of delivery.\n")
    result = CliRunner().invoke(
        cli,
        ["--data", str(root / "data"), "--kb", str(kb), "index"],
        env={"SHOPDESK_QUERY_MODEL": "onnx"},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    (path,) = (root / "data" / "models").glob("minilm-*.onnx")
    return path


@pytest.fixture(scope="module")
def encoder(exported: Path) -> OnnxEncoder:
    return OnnxEncoder(exported, embedding.model_path(), embedding.MAX_TOKENS)


@pytest.fixture(autouse=True)
def torch_queries_after() -> Iterator[None]:
    yield
    queries.use_torch_queries()  # the query path is process-wide: leave it as other tests expect


def torch_vectors(texts: Sequence[str]) -> np.ndarray:
    return embedding._encode(texts, embedding.QUERY_THREADS)


def test_onnx_vectors_match_torch_batched_and_one_by_one(encoder: OnnxEncoder) -> None:
    expected = torch_vectors(TEXTS)
    batched = encoder.encode(TEXTS)
    single = np.concatenate([encoder.encode([t]) for t in TEXTS])
    assert batched.shape == single.shape == (len(TEXTS), embedding.DIMENSIONS)
    assert batched.dtype == np.float32
    assert (batched * expected).sum(1).min() >= onnx_export.MIN_COSINE
    assert (single * expected).sum(1).min() >= onnx_export.MIN_COSINE
    assert np.allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)


def test_both_paths_truncate_at_the_model_limit(encoder: OnnxEncoder) -> None:
    # Words past token 256 change nothing, in either path.
    longer = LONG + " but this tail is far beyond the limit"
    onnx = encoder.encode([LONG, longer])
    torch = torch_vectors([LONG, longer])
    assert np.allclose(onnx[0], onnx[1], atol=1e-6)
    assert np.allclose(torch[0], torch[1], atol=1e-6)
    assert float(onnx[0] @ torch[0]) >= onnx_export.MIN_COSINE


def test_a_server_with_the_export_loads_neither_torch_nor_transformers(exported: Path) -> None:
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from knowledge import embedding\n"
        f"embedding.warm_up_queries(Path({str(exported.parent)!r}))\n"
        "vector = embedding.query_encoder().encode('can I return a mug?')\n"
        "print(json.dumps({'dims': len(vector), 'loaded': sorted(\n"
        "    m for m in ('torch', 'transformers', 'onnxruntime') if m in sys.modules)}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {
        "dims": embedding.DIMENSIONS,
        "loaded": ["onnxruntime"],
    }


def test_the_query_encoder_uses_the_export_and_index_reuses_it(exported: Path) -> None:
    before = exported.stat().st_mtime_ns
    assert embedding.export_query_model(exported.parent) == exported  # found, not redone
    assert exported.stat().st_mtime_ns == before
    assert embedding.use_onnx_queries(exported.parent, export=False)
    vector = embedding.QueryEncoder().encode("how long does shipping take?")
    assert float(vector @ torch_vectors(["how long does shipping take?"])[0]) >= 0.9999


def test_passages_follow_the_query_path_in_order(exported: Path) -> None:
    texts = [f"{t} ({n})" for n, t in enumerate(TEXTS)]
    expected = embedding.embed_passages(texts, batch_size=4, threads=1)  # torch
    assert embedding.use_onnx_queries(exported.parent, export=False)
    seen: list[int] = []
    got = embedding.embed_passages(texts, batch_size=4, on_batch=seen.append, threads=2)
    assert sum(seen) == len(texts) and max(seen) <= 4
    assert (got * expected).sum(1).min() >= onnx_export.MIN_COSINE


def _fake_export(exported: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Copy the module's export instead of tracing again: the check after it is what is tested.
    monkeypatch.setattr(
        onnx_export, "_export_graph", lambda model, path: shutil.copyfile(exported, path)
    )


def test_an_export_that_drifts_from_torch_is_refused_and_not_retried(
    exported: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_export(exported, monkeypatch)
    rng = np.random.default_rng(0)

    def drifted(texts: Sequence[str], threads: int) -> np.ndarray:  # torch, as if it moved
        vectors = rng.normal(size=(len(texts), embedding.DIMENSIONS)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    monkeypatch.setattr(embedding, "_encode", drifted)
    assert embedding.export_query_model(tmp_path) is None
    assert not embedding.use_onnx_queries(tmp_path)
    assert list(tmp_path.glob("*.onnx")) == []
    (note,) = tmp_path.glob("minilm-*.rejected")
    assert "below 0.9999" in note.read_text()

    def never(*args: object) -> None:
        raise AssertionError("a rejected export was tried again")

    monkeypatch.setattr(onnx_export, "export", never)
    assert embedding.export_query_model(tmp_path) is None


def test_a_checked_export_lands_atomically(
    exported: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_export(exported, monkeypatch)
    path = embedding.export_query_model(tmp_path / "models")
    assert path is not None and path.name == exported.name  # same model + recipe, same key
    leftovers = [p.name for p in path.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_a_corrupt_export_or_a_failing_runtime_leaves_queries_on_torch(
    exported: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = onnx_encoder.onnx_file(embedding.model_path(), tmp_path)
    target.write_bytes(b"not an onnx graph")
    assert not embedding.use_onnx_queries(tmp_path, export=False)
    assert queries._onnx is None

    class Broken:
        path = exported

        def encode(self, texts: Sequence[str]) -> np.ndarray:
            raise RuntimeError("onnxruntime fell over")

    monkeypatch.setattr(queries, "_onnx", Broken())
    got = embedding.QueryEncoder().encode("gift card expiry")
    assert np.allclose(got, torch_vectors(["gift card expiry"])[0], atol=1e-6)


def test_clean_text_keeps_honest_text_and_defuses_the_rest() -> None:
    for honest in TEXTS:
        assert clean_text(honest) == honest
    assert clean_text("mug\ud800 return") == "mug\ufffd return"
    assert clean_text("a\x00b\x07c\x1b[0m\x7f") == "abc[0m"
    assert clean_text("\udfff\ud83d") == "\ufffd\ufffd"


@pytest.mark.parametrize("path", ["torch", "onnx"])
def test_a_surrogate_in_a_batch_spoils_no_other_query(path: str, exported: Path) -> None:
    if path == "onnx":
        assert embedding.use_onnx_queries(exported.parent, export=False)
    honest = ["can I return my engraved mug?", "where is my parcel?"]
    encoder = embedding.QueryEncoder()
    with encoder._cond:  # hold the worker off so all three queue into one batch
        futures = [encoder.submit(q) for q in (honest[0], "bad \ud800 text\x00", honest[1])]
    vectors = [f.result(timeout=30) for f in futures]
    assert all(v.shape == (embedding.DIMENSIONS,) for v in vectors)
    alone = torch_vectors(honest)
    assert float(vectors[0] @ alone[0]) >= 0.9999 and float(vectors[2] @ alone[1]) >= 0.9999


def test_a_text_that_fails_fails_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    real = embedding._encode

    def fussy(texts: Sequence[str], threads: int) -> np.ndarray:
        seen.append(len(texts))
        if "poison" in texts:
            raise ValueError("cannot encode poison")
        return real(texts, threads)

    monkeypatch.setattr(embedding, "_encode", fussy)
    encoder = embedding.QueryEncoder()
    with encoder._cond:
        futures = [encoder.submit(q) for q in ("refunds", "poison", "returns")]
    assert futures[0].result(timeout=30).shape == (embedding.DIMENSIONS,)
    assert futures[2].result(timeout=30).shape == (embedding.DIMENSIONS,)
    with pytest.raises(ValueError, match="poison"):
        futures[1].result(timeout=30)
    assert seen[0] == 3  # one batch first, then one by one
    # Passages: an honest batch with a surrogate embeds; a text that cannot be embedded is the
    # index run's error, named, not a silent zero vector.
    vectors = embedding.embed_passages(["window", "bad \ud800", "labels"], threads=1)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="poison"):
        embedding.embed_passages(["window", "poison"], threads=1)


def test_the_model_key_follows_the_folder_contents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, cache = tmp_path / "model", tmp_path / "cache"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "weights.bin").write_bytes(b"\x01" * 64)
    key = onnx_encoder.model_key(model, cache)
    assert onnx_encoder.model_key(model, cache) == key

    def rehash(model_dir: Path) -> str:
        raise AssertionError("an unchanged folder was hashed again")

    with monkeypatch.context() as patched:  # unchanged sizes and mtimes: the memo answers
        patched.setattr(onnx_encoder, "_content_hash", rehash)
        assert onnx_encoder.model_key(model, cache) == key
    (model / "weights.bin").write_bytes(b"\x02" * 65)
    changed = onnx_encoder.model_key(model, cache)
    assert changed != key
    assert onnx_encoder.model_key(model, tmp_path / "elsewhere") == changed  # no memo needed
