"""Chroma, the dense half of the index: precomputed embeddings only.

Never let Chroma embed: its default embedding function downloads an ONNX model and fails offline.
The collection is created with `embedding_function=None`, and every add and query passes vectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from knowledge.models import Chunk

COLLECTION = "shopdesk_knowledge_minilm_l6_v2"
WRITE_BATCH = 1000


class VectorStore:
    def __init__(self, path: Path) -> None:
        import chromadb
        from chromadb.config import Settings

        path.mkdir(parents=True, exist_ok=True)
        self._client = chromadb.PersistentClient(
            path=str(path), settings=Settings(anonymized_telemetry=False, allow_reset=False)
        )
        self._collection = self._client.get_or_create_collection(
            COLLECTION,
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"model": "all-MiniLM-L6-v2"},
        )

    def count(self) -> int:
        return self._collection.count()

    def ids(self) -> set[str]:
        return set(self._collection.get(include=[])["ids"])

    def vectors(self) -> dict[str, np.ndarray]:
        got = self._collection.get(include=["embeddings"])
        return {
            cid: np.asarray(vec, dtype=np.float32)
            for cid, vec in zip(got["ids"], got["embeddings"], strict=True)
        }

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        for start in range(0, len(chunks), WRITE_BATCH):
            part = chunks[start : start + WRITE_BATCH]
            self._collection.upsert(
                ids=[c.id for c in part],
                embeddings=vectors[start : start + WRITE_BATCH],
                metadatas=[
                    {
                        "source": c.source,
                        "heading": c.heading,
                        "part": c.part,
                        "hash": c.hash,
                        "ordinal": c.ordinal,
                    }
                    for c in part
                ],  # fmt: skip
                documents=[c.text for c in part],
            )

    def chunks(self, sources: Sequence[str] | None = None) -> list[tuple[Chunk, np.ndarray]]:
        """The stored sections (all, or those of `sources`) with their vectors: what another
        replica wrote, read back whole (the store of record on a Chroma server)."""
        where = {"source": {"$in": list(sources)}} if sources is not None else None
        if sources is not None and not sources:
            return []
        got = self._collection.get(
            where=where,  # type: ignore[arg-type]
            include=["documents", "metadatas", "embeddings"],
        )
        out: list[tuple[Chunk, np.ndarray]] = []
        vectors = got["embeddings"] if got["embeddings"] is not None else []
        for cid, doc, meta, vec in zip(
            got["ids"], got["documents"] or [], got["metadatas"] or [], vectors,
            strict=True,
        ):  # fmt: skip
            chunk = Chunk(
                id=cid, source=str(meta["source"]), heading=str(meta["heading"]),
                part=int(meta["part"]), text=doc or "", hash=str(meta["hash"]),  # type: ignore[arg-type]
                ordinal=int(meta.get("ordinal", 0)),  # type: ignore[arg-type]
            )  # fmt: skip
            out.append((chunk, np.asarray(vec, dtype=np.float32)))
        return out

    def delete(self, ids: Sequence[str]) -> None:
        ids = list(ids)
        for start in range(0, len(ids), WRITE_BATCH):
            self._collection.delete(ids=ids[start : start + WRITE_BATCH])

    def query(self, vector: np.ndarray, n: int) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity), best first."""
        total = self._collection.count()
        if not total:
            return []
        result = self._collection.query(
            query_embeddings=vector.reshape(1, -1), n_results=min(n, total), include=["distances"]
        )
        return [
            (cid, 1.0 - float(dist))
            for cid, dist in zip(result["ids"][0], result["distances"][0], strict=True)
        ]
