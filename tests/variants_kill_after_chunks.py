"""Test helper: run ``dream-keras ARGV`` and kill the process right after it has written its N-th chunk file.

The kill is SIGKILL, as ``kill -9``.

    python tests/variants_kill_after_chunks.py N variants --model ... --out OUT

The kill comes from this wrapper (it wraps ``ChunkStore.save``), not from a hook in the package.
"""

import os
import signal
import sys

from dream_keras.interpret.variants.chunk_store import ChunkStore


def main() -> int:
    limit, argv = int(sys.argv[1]), sys.argv[2:]
    save = ChunkStore.save
    written = []

    def save_then_maybe_die(self, kind, index, arrays):
        save(self, kind, index, arrays)
        written.append((kind, index))
        if len(written) >= limit:
            os.kill(os.getpid(), signal.SIGKILL)

    ChunkStore.save = save_then_maybe_die
    from dream_keras.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
