"""The interface every modulation network (MNet) implements.

An MNet reads one descriptor row per unit of every modulated layer and
returns one *logit* per unit; the algorithm turns logits into P (a sigmoid)
and decides how P acts (P itself, or hard gates in the budget-aware mode). Adding a
modulator means adding one file with a subclass of :class:`BaseModulator`.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModule
from torch import nn


class BaseModulator(BaseModule):
    """Base class of AstroNet's and MA-Net's MNets.

    Subclasses implement :meth:`forward`. The other methods have the
    defaults of a single astrocyte without state carried between rounds.

    Class attributes:
        grouped (bool): True when the MNet splits the layers into groups of
            its own (one sub-astrocyte each): the algorithm then passes
            ``layer_groups`` (and accepts ``num_astrocytes`` in the config).

    Args:
        layer_units (Sequence[int]): Units of each modulated layer.
    """
    grouped = False

    def __init__(self, layer_units: Sequence[int], init_cfg=None):
        super().__init__(init_cfg)
        self.layer_units = list(layer_units)

    @property
    def num_astrocytes(self) -> int:
        """M: the sub-astrocytes updated in order by the chain."""
        return 1

    @property
    def chained(self) -> bool:
        """Whether the sub-astrocytes' optimizers step one after another
        (A_1 with the shared parameters, then A_2 ... A_M), each seeing its
        predecessors' update; False: every optimizer steps at once."""
        return False

    def astrocyte_parameters(self, index: int) -> List[nn.Parameter]:
        """Parameters stepped by sub-astrocyte ``index``'s optimizer."""
        if index != 0:
            raise IndexError(f'{type(self).__name__} has one astrocyte, '
                             f'asked for astrocyte {index}')
        return list(self.parameters())

    def shared_parameters(self) -> List[nn.Parameter]:
        """Parameters shared by every sub-astrocyte (stepped first)."""
        return []

    def end_round(self) -> None:
        """Carry the state of the round just finished into the next one."""

    def forward(self,
                descriptors: List[torch.Tensor],
                previous: Optional[List[torch.Tensor]] = None,
                with_reg: bool = True
                ) -> Tuple[List[torch.Tensor], Dict[str, torch.Tensor]]:
        """Logits of every unit, and the MNet's own losses.

        Args:
            descriptors (list[Tensor]): ``(units, F)`` per layer, now.
            previous (list[Tensor], optional): The same at the previous
                round's start (MA-Net's history); defaults to
                ``descriptors``.
            with_reg (bool): A Phi-step's forward: compute the MNet's own
                losses and record the state to carry into the next round.
                False for a read of P (W-steps, logs, export), which leaves
                every buffer as it is.

        Returns:
            tuple: one ``(units,)`` logit tensor per layer, and a dict of
            losses (``loss_*``) and statistics.
        """
        raise NotImplementedError
