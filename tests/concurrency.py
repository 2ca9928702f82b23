"""Running the same work in several threads at once, each on its own database connection.

Used by the race tests (`django_db(transaction=True)`): a Barrier releases every thread at the
same moment, each thread closes its connection when done, and the outcome of each call is
returned (a value or the exception it raised) so the test can count the winners.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection

JOIN_TIMEOUT_SECONDS = 60


@dataclass
class Outcome:
    value: Any = None
    error: BaseException | None = None

    @property
    def succeeded(self) -> bool:
        return self.error is None


def run_concurrently(count: int, work: Callable[[int], Any]) -> list[Outcome]:
    """Call `work(index)` in `count` threads released together; one outcome per index."""
    barrier = threading.Barrier(count)
    outcomes = [Outcome() for _ in range(count)]

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=JOIN_TIMEOUT_SECONDS)
            outcomes[index].value = work(index)
        except BaseException as error:  # noqa: BLE001 - reported to the test, not swallowed
            outcomes[index].error = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "a thread did not finish"
    return outcomes
