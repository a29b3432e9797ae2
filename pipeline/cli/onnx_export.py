"""``threadwatch onnx-export``: the embedding model as ONNX (optionally int8)."""

import argparse
from collections.abc import Sequence

from pipeline.cli.common import EXIT_OK
from pipeline.options import DEFAULT_SETTINGS, project_path

NAME = "onnx-export"
SUMMARY = "export the embedding model to ONNX (optionally int8)"


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="threadwatch onnx-export",
        description="Export the embedding model to ONNX (offline, from the installed package) "
        "for 'embedding: {backend: onnx, onnx_model: DIR}' in the settings.",
    )
    parser.add_argument("--output", required=True, help="folder to write the model into")
    parser.add_argument(
        "--int8",
        action="store_true",
        help="quantise the MatMul weights to int8 (dynamic, per channel): faster, "
        "cosine to fp32 about 0.99",
    )
    parser.add_argument(
        "--settings",
        default=project_path(DEFAULT_SETTINGS),
        help="settings whose embedding.model is exported (default: %(default)s)",
    )
    args = parser.parse_args(list(argv))
    from pipeline.config.settings import load_settings
    from transforms.embedding.onnx_export import compare_with_source, export_onnx

    model = load_settings(args.settings or None).embedding.model
    info = export_onnx(args.output, model, int8=args.int8)
    cosine = compare_with_source(args.output, [_EXPORT_CHECK], model)
    print(
        f"exported {model} ({info.quantization}, {info.dim} dims, default "
        f"{info.max_seq_length} word pieces) to {args.output}; cosine to "
        f"sentence-transformers on a check sentence: {float(cosine.min()):.4f}"
    )
    return EXIT_OK


_EXPORT_CHECK = (
    "President Vladimir Putin met his Iranian counterpart in Ashgabat on Friday, "
    "days before a strategic partnership treaty was due to be signed."
)
