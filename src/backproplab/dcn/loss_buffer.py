"""Per-step training losses kept on the device and read to the host in one transfer per interval.

``loss.item()`` makes the host wait until the GPU has finished the step; doing it every step keeps
the GPU's queue empty. Here each step's loss tensor is kept as it is and :meth:`LossBuffer.read`
stacks the pending ones and copies them in one go (one wait per monitoring interval). The values are
exactly those of per-step ``.item()`` reads: the same float32 numbers, converted to Python floats.
"""

from __future__ import annotations

import torch


class LossBuffer:
    """Losses of the steps since the last :meth:`read`, oldest first.

    ``every_step=True`` makes :attr:`due` always true, so a loop that reads when due reads after each
    step (the CPU's way: there the read costs nothing and progress shows each loss at once).
    """

    def __init__(self, every_step: bool) -> None:
        self.every_step = every_step
        self._steps: list[int] = []
        self._pending: list[torch.Tensor] = []

    def add(self, step: int, loss: torch.Tensor) -> None:
        """Keep step ``step``'s 0-d loss tensor (detached: no graph is held) without reading it."""
        self._steps.append(step)
        self._pending.append(loss.detach())

    def due(self, interval_end: bool) -> bool:
        """Whether to read now: at the end of an interval, or always in per-step mode."""
        return bool(self._pending) and (self.every_step or interval_end)

    def __len__(self) -> int:
        return len(self._pending)

    def read(self) -> list[tuple[int, float]]:
        """The pending ``(step, loss)`` pairs, losses as floats (one host transfer); forget them."""
        steps, pending = self._steps, self._pending
        self._steps, self._pending = [], []
        if not pending:
            return []
        values = [pending[0].item()] if len(pending) == 1 else torch.stack(pending).tolist()
        return list(zip(steps, values, strict=True))
