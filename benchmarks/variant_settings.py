"""A copy of ``config/settings.yaml`` with some ``embedding`` keys changed.

The benchmarks and ``threadwatch eval`` compare embedding variants under
otherwise identical settings; generating each variant's file from the
shipped one keeps the clustering settings in step with it.

    python -m benchmarks.variant_settings --output out/settings/onnx-int8.yaml \\
        backend=onnx onnx_model=out/onnx/int8 [max_seq_length=128] [threads=1]
"""

import argparse
import sys
from pathlib import Path

import yaml

from benchmarks.corpus import REPO
from pipeline.config.settings import load_settings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", required=True)
    parser.add_argument("--base", default=str(REPO / "config" / "settings.yaml"))
    parser.add_argument("changes", nargs="*", metavar="KEY=VALUE", help="embedding keys")
    args = parser.parse_args()
    data = yaml.safe_load(Path(args.base).read_text()) or {}
    embedding = data.setdefault("embedding", {})
    for change in args.changes:
        key, _, value = change.partition("=")
        embedding[key] = yaml.safe_load(value)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    header = f"# {args.base} with embedding: {', '.join(args.changes) or 'unchanged'}\n"
    output.write_text(header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    load_settings(str(output))  # refuses what threadwatch would refuse
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
