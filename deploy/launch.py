"""Flex Template entry point: the template's parameters become `threadwatch run` flags.

Dataflow's launcher calls this file with ``--name=value`` arguments (the
template parameters plus the runner options it adds); they are exactly the
flags of ``threadwatch run``.
"""

import sys

from pipeline.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", *sys.argv[1:]]))
