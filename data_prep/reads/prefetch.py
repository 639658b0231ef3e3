"""Read ahead in a background thread, so that reading and parsing a file overlap the work on what was read.

zlib's decompression and pyarrow's CSV reader release the GIL, so on two or more cores the thread that
reads and parses blocks runs beside the one that counts them.
"""

from __future__ import annotations

import queue
import threading
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")


def prefetched(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Yield the items of ``items`` as a background thread produces them, at most ``depth`` ahead.

    An exception of the producer is raised here, where the item would have come; when the consumer
    stops early (an exception, or ``close()``), the producer stops too.
    """
    channel: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(message) -> bool:
        while not stop.is_set():
            try:
                channel.put(message, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(("item", item)):
                    return
            put(("done", None))
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, which raises it
            put(("error", error))

    worker = threading.Thread(target=produce, name="read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = channel.get()
            if kind == "item":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stop.set()
        worker.join()
