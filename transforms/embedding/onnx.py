"""The ONNX Runtime embedding backend: no torch at run time.

``threadwatch onnx-export`` (``transforms/embedding/onnx_export.py``) writes a folder:

    model.onnx              the transformer, mean pooling and L2 normalisation
                            in one graph (fp32, or int8 weights), with dynamic
                            batch and sequence axes
    tokenizer.json          the model's own tokenizer (Hugging Face tokenizers)
    threadwatch-onnx.json   what was exported and how (``OnnxModelInfo``)

This module runs that folder with ``onnxruntime`` and ``tokenizers`` only.
Texts are tokenised once per batch, sorted by length and padded per
sub-batch to its longest member, as sentence-transformers does, so short
articles do not pay for long ones. The sequence length (``max_seq_length``)
is a run-time choice: the graph's axes are dynamic.
"""

import dataclasses
import json
import os
import tempfile
from collections.abc import Sequence
from typing import Any

import numpy as np

from transforms.core.errors import ConfigError
from transforms.core.settings import EmbeddingSettings
from transforms.embedding.handler import ArticleEmbeddingHandler

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
INFO_FILE = "threadwatch-onnx.json"
FILES = (MODEL_FILE, TOKENIZER_FILE, INFO_FILE)
INFO_FORMAT = 1


@dataclasses.dataclass(frozen=True)
class OnnxModelInfo:
    """``threadwatch-onnx.json``: what an exported folder holds."""

    #: The model it was exported from, as configured (``package:…`` or a path).
    source: str
    dim: int
    #: The sentence-transformers model's own sequence length (the default).
    max_seq_length: int
    #: The longest sequence the model's position embeddings allow.
    max_position_embeddings: int
    #: ``none`` (fp32) or ``int8-dynamic-per-channel-matmul``.
    quantization: str
    #: Graph inputs, in order (``input_ids``, ``attention_mask``[, ``token_type_ids``]).
    inputs: tuple[str, ...]
    output: str = "embedding"
    format: int = INFO_FORMAT

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "OnnxModelInfo":
        data = json.loads(text)
        if data.get("format") != INFO_FORMAT:
            raise ValueError(f"unsupported {INFO_FILE} format {data.get('format')!r}")
        data["inputs"] = tuple(data["inputs"])
        return cls(**data)


def _is_remote(path: str) -> bool:
    return "://" in path


def check_folder(folder: str) -> None:
    """Fails early, naming the setting, when a local folder lacks an exported model."""
    if _is_remote(folder):
        return  # checked by the workers that copy it
    missing = [name for name in FILES if not os.path.isfile(os.path.join(folder, name))]
    if missing:
        raise ConfigError(
            folder,
            f"no exported ONNX model here (missing {', '.join(missing)}); "
            f"create one with 'threadwatch onnx-export --output {folder}'",
            key="embedding.onnx_model",
        )


def exported_source(folder: str) -> str:
    """The model an exported folder was made from (its ``threadwatch-onnx.json``)."""
    from apache_beam.io.filesystems import FileSystems

    check_folder(folder)  # a local folder without an export: the message that says what to do
    path = f"{folder.rstrip('/')}/{INFO_FILE}"
    try:
        with FileSystems.open(path) as handle:
            return OnnxModelInfo.from_json(handle.read().decode("utf-8")).source
    except Exception as exc:
        raise ConfigError(
            folder, f"cannot read {INFO_FILE}: {exc}", key="embedding.onnx_model"
        ) from None


def _local_copy(folder: str) -> str:
    """ONNX Runtime reads local files: copy a folder on another filesystem (gs://…) first."""
    if not _is_remote(folder):
        return folder
    from apache_beam.io.filesystems import FileSystems

    local = tempfile.mkdtemp(prefix="threadwatch-onnx-")
    for name in FILES:
        with (
            FileSystems.open(f"{folder.rstrip('/')}/{name}") as source,
            open(os.path.join(local, name), "wb") as target,
        ):
            while chunk := source.read(1 << 24):
                target.write(chunk)
    return local


class OnnxEncoder:
    """An exported model in an ONNX Runtime session, with its tokenizer."""

    def __init__(self, folder: str, max_seq_length: int | None = None, threads: int = 0) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        folder = _local_copy(folder)
        with open(os.path.join(folder, INFO_FILE), encoding="utf-8") as handle:
            self.info = OnnxModelInfo.from_json(handle.read())
        self.max_seq_length = max_seq_length or self.info.max_seq_length
        if self.max_seq_length > self.info.max_position_embeddings:
            raise ValueError(
                f"max_seq_length {self.max_seq_length} exceeds the model's "
                f"{self.info.max_position_embeddings} positions"
            )
        self.tokenizer = Tokenizer.from_file(os.path.join(folder, TOKENIZER_FILE))
        self.tokenizer.no_padding()  # padded here, per sub-batch
        self.tokenizer.enable_truncation(self.max_seq_length)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(
            os.path.join(folder, MODEL_FILE), options, providers=["CPUExecutionProvider"]
        )

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        """Unit-length float32 vectors, one row per text, in the order given."""
        vectors = np.zeros((len(texts), self.info.dim), dtype=np.float32)
        if not texts:
            return vectors
        encodings = self.tokenizer.encode_batch([text.strip() for text in texts])
        lengths = np.array([len(e.ids) for e in encodings])
        order = np.argsort(-lengths, kind="stable")  # longest first, as sentence-transformers
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = int(lengths[rows].max())
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for row, index in enumerate(rows):
                tokens = encodings[index].ids
                ids[row, : len(tokens)] = tokens
                mask[row, : len(tokens)] = 1
            feeds: dict[str, Any] = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self.info.inputs:
                feeds["token_type_ids"] = np.zeros_like(ids)
            vectors[rows] = self.session.run([self.info.output], feeds)[0]
        return vectors


def load_onnx_encoder(settings: EmbeddingSettings) -> OnnxEncoder:
    assert settings.onnx_model, "EmbeddingSettings validates onnx_model for backend onnx"
    return OnnxEncoder(settings.onnx_model, settings.max_seq_length, settings.threads)


class OnnxHandler(ArticleEmbeddingHandler[OnnxEncoder]):
    """Embeds articles with an exported model in ONNX Runtime (``backend: onnx``)."""

    def __init__(self, settings: EmbeddingSettings) -> None:
        super().__init__(settings)
        assert settings.onnx_model, "EmbeddingSettings validates onnx_model for backend onnx"
        check_folder(settings.onnx_model)

    def load_model(self) -> OnnxEncoder:
        return load_onnx_encoder(self._settings)

    def encode(self, model: OnnxEncoder, texts: Sequence[str]) -> np.ndarray:
        return model.encode(texts, self._settings.encode_batch_size)
