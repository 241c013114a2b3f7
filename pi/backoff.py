"""Waiting longer after each failure, up to a cap, with some randomness.

The randomness keeps a fleet of cameras that lost the server at the same
moment from all knocking again at the same moment.
"""

import random


class Backoff:
    def __init__(
        self,
        first: float = 2.0,
        cap: float = 300.0,
        rng: random.Random | None = None,
    ) -> None:
        self.first = first
        self.cap = cap
        self.failures = 0
        self.rng = rng or random.Random()

    def failed(self) -> float:
        """Count one more failure and return the seconds to wait.

        The wait is between half and all of first * 2^(failures - 1),
        capped.
        """
        ceiling = min(self.cap, self.first * 2 ** min(self.failures, 32))
        self.failures += 1
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def succeeded(self) -> None:
        self.failures = 0
