"""The one table of variance-scaling presets (Glorot, He, LeCun, Kwon et al., "standard").

A leaf: ``initializers`` registers each row as a scheme and re-exports ``Preset`` and ``PRESETS``;
``export`` reads the table through it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    """A preset of :func:`variance_scaling`, as Keras 3 keeps Glorot, He and LeCun: var =
    factor/n, n by ``mode``, drawn from ``distribution``; ``formula`` and ``source`` make its
    docstring, ``keras`` is the Keras 3 class that is this preset at scale 1 (None: Keras has
    none). ``form`` is the arithmetic of the draw, each paper's own so that the bits stay:
    "keras" calls :func:`variance_scaling`; "kwon" draws k·sqrt(3/n) (uniform limit) or
    k·sqrt(1/n) (std), k = sqrt(factor); "range" draws U[-r, r], r = sqrt(3·factor)/sqrt(n)."""

    factor: float
    mode: str
    distribution: str
    formula: str = ""
    source: str = ""
    keras: str | None = None
    form: str = "keras"

    @property
    def family(self) -> str:
        return "kwon" if self.form == "kwon" else "variance_scaling"


_AVG, _TN, _UN, _K = "fan_avg", "truncated_normal", "untruncated_normal", "kwon"
#: The one table of variance-scaling presets, in registry order; ``evoinit.export`` reads it too.
#: A truncated normal's std is the realised one. Kwon et al.'s k·sqrt(6/(fan_in+fan_out)) is
#: sqrt(3·factor/n) with factor k², n = (fan_in+fan_out)/2; standard's 1/sqrt(fan_in) factor 1/3.
PRESETS: dict[str, Preset] = {
    "lecun_uniform": Preset(1.0, "fan_in", "uniform", "U[-r, r], r = sqrt(3/fan_in)", "LeCun et al. 1998",
                            "LecunUniform"),
    "lecun_normal": Preset(1.0, "fan_in", _TN, "truncated normal, std = sqrt(1/fan_in)", "Keras LecunNormal",
                           "LecunNormal"),
    "glorot_uniform": Preset(1.0, _AVG, "uniform", "U[-r, r], r = sqrt(6/(fan_in+fan_out))",
                             "Glorot & Bengio 2010", "GlorotUniform"),
    "glorot_normal": Preset(1.0, _AVG, _TN, "truncated normal, std = sqrt(2/(fan_in+fan_out))",
                            "Keras GlorotNormal", "GlorotNormal"),
    "he_uniform": Preset(2.0, "fan_in", "uniform", "U[-r, r], r = sqrt(6/fan_in)", "He et al. 2015", "HeUniform"),
    "he_normal": Preset(2.0, "fan_in", _TN, "truncated normal, std = sqrt(2/fan_in)", "Keras HeNormal",
                        "HeNormal"),
    "standard_uniform": Preset(1.0 / 3.0, "fan_in", "uniform", "U[-r, r], r = 1/sqrt(fan_in)",
                               "Glorot & Bengio 2010's \"standard\" heuristic; PyTorch nn.Linear's default",
                               form="range"),
    "kwon_logistic_uniform": Preset(16.0, _AVG, "uniform", "U[-r, r], r = 4*sqrt(6/(fan_in+fan_out))",
                                    "Kwon et al.; 4 = 1/σ'(0)", form=_K),
    "kwon_logistic_normal": Preset(16.0, _AVG, _UN, "N(0, s^2), s = 4*sqrt(2/(fan_in+fan_out))", "Kwon et al.",
                                   form=_K),
    "kwon_tanh_uniform": Preset(1.0, _AVG, "uniform", "U[-r, r], r = sqrt(6/(fan_in+fan_out))", "Kwon et al.",
                                form=_K),
    "kwon_tanh_normal": Preset(1.0, _AVG, _UN, "N(0, s^2), s = sqrt(2/(fan_in+fan_out))", "Kwon et al.",
                               form=_K),
    "kwon_relu_uniform": Preset(2.0, _AVG, "uniform", "U[-r, r], r = sqrt(2)*sqrt(6/(fan_in+fan_out))",
                                "Kwon et al.; not He", form=_K),
    "kwon_relu_normal": Preset(2.0, _AVG, _UN, "N(0, s^2), s = sqrt(2)*sqrt(2/(fan_in+fan_out))",
                               "Kwon et al.; not He", form=_K),
}
