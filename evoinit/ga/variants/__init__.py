"""The variants of the search, each behind one of the engine's hooks (``ga.hooks``).

- ``surrogate``: a random forest chooses the offspring to train and ranks the final hall of fame
  (``--surrogate K``);
- ``halving``: successive halving — offspring race through rungs of epochs (``--prune halving``);
- ``steady``: the steady-state GA with a fixed lag, no generation barrier (``--shape steady``).

``of(config)`` is the one place a config is mapped to them; the engine imports none of them.
"""

from __future__ import annotations

from evoinit.ga.hooks import Hooks


def of(config) -> Hooks:
    """The hooks a search with ``config`` runs with (the plain GA: none)."""
    from evoinit.ga.variants import halving, steady, surrogate

    model = surrogate.Surrogate(config) if config.surrogate else None
    return Hooks(breeder=model, ranker=model,
                 racer=halving.Halving() if config.prune != "off" else None,
                 shape=steady.Steady() if config.shape == "steady" else None)
