"""What reference network to build: :class:`ModelSpec` (torch-free, validated).

A spec names a network (``mobilenet_v1``, ``resnet20``, ``resnet18``, ``alexnet``,
``squeezenet1_0``), its size (width multiplier, input resolution, classes), how its weights are
represented (``variant``) and, for strassenified / hybrid variants, the hidden-layer sizing; for
binary variants (``wbin``, ``fbin``, ``hbn``), which layers are binarized and how. The same spec
always builds the same model (``seed``) and the same trace; traces record every field in their
provenance, and :meth:`ModelSpec.from_provenance` rebuilds the spec from it. """
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from accelsim.errors import AccelsimError, InputError, Problem

MODELS = ("mobilenet_v1", "resnet20", "resnet18", "alexnet", "squeezenet1_0")
VARIANTS = ("baseline", "twn", "strassen", "hybrid", "wbin", "fbin", "hbn")
#: Hybrid binary network variants (docs/binary-networks.md): the default kind of every
#: binarizable layer (``hbn``: FullBinConv, with per-layer ``binarize`` choices).
BINARY_VARIANTS = {"wbin": "wbin", "fbin": "fbin", "hbn": "fbin"}
#: Kinds a layer of a binary variant can be given by name (``binarize``).
BINARY_KINDS = ("fp", "wbin", "fbin")
#: Variants each model is built in (AlexNet and SqueezeNet: full precision and binary only).
MODEL_VARIANTS = {"mobilenet_v1": VARIANTS[:4], "resnet20": VARIANTS, "resnet18": VARIANTS,
                  "alexnet": ("baseline", "wbin", "fbin", "hbn"),
                  "squeezenet1_0": ("baseline", "wbin", "fbin", "hbn")}
#: (default resolution, default classes) per model.
MODEL_DEFAULTS = {"mobilenet_v1": (224, 1000), "resnet20": (32, 10), "resnet18": (224, 1000),
                  "alexnet": (224, 1000), "squeezenet1_0": (224, 1000)}
#: Largest word width of the binary word-operation counts (a power of two).
MAX_WORD_BITS = 4096
GENERATOR = "accelsim.reference"
MAX_WIDTH = 8.0
MAX_RESOLUTION = 2048
MAX_PATCH = 16
TORCH_PIN = "torch==2.13.0"


class TorchMissingError(AccelsimError):
    """The reference model needs PyTorch, which is not installed."""


def require_torch() -> None:
    """Raise :class:`TorchMissingError` (one line, with the install command) if torch is
    missing."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise TorchMissingError(f"the reference model needs PyTorch: pip install {TORCH_PIN}") \
            from None


@dataclass(frozen=True)
class ModelSpec:
    """A reference network and how its weights are represented.

    ``width``: channel multiplier (channels ``max(1, int(c * width))``); ``resolution``: input
    height = width in pixels (``None``: 224, or 32 for ResNet-20); ``classes`` (``None``: 1000,
    or 10 for ResNet-20). ``variant``: ``baseline`` (fp), ``twn`` (every conv/FC ternary),
    ``strassen`` (``hybrid`` with ``alpha = 0``), ``hybrid``. ``alpha``: fraction of each hybrid
    layer's output channels kept fp; ``r_factor``: hidden width relative to the strassenified
    channels (``r = r_factor * c_rem``); ``patch``/``groups``: W_c patch p and W_b groups of every
    strassenified conv (a layer whose input channels ``groups`` does not divide uses
    ``gcd(groups, in_c)``); ``fc_hidden``: hidden width of the strassenified FC (``None``: the FC's
    input width); ``fp_bytes``: bytes per stored full-precision value (2, or 4 to reproduce the
    paper's ST-MobileNet sizes); ``seed``: parameter and input RNG seed; ``overrides``:
    ``(layer_name, alpha, r_factor)`` per strassenified conv layer.

    Binary variants (``wbin``: every binarizable layer a WeightBinConv, ``fbin``: a FullBinConv,
    ``hbn``: FullBinConv by default; the first layer always stays fp, the last one unless
    ``binary_last``): ``binarize`` gives ``(layer_name, kind)`` per layer, kind ``fp``, ``wbin``
    or ``fbin``; ``word_bits`` is the word width (a power of two) of the word-operation counts
    the trace records for FullBinConv layers. The three fields are written by :meth:`to_dict` only
    when they differ from their defaults, so older traces keep their provenance.
    Raises :class:`~accelsim.errors.InputError` listing every invalid field.
    """

    model: str
    width: float = 1.0
    resolution: int | None = None
    classes: int | None = None
    variant: str = "baseline"
    alpha: float = 0.0
    r_factor: float = 1.0
    patch: int = 1
    groups: int = 1
    fc_hidden: int | None = None
    fp_bytes: int = 2
    seed: int = 0
    overrides: tuple[tuple[str, float, float], ...] = ()
    binarize: tuple[tuple[str, str], ...] = ()
    binary_last: bool = False
    word_bits: int = 64

    def __post_init__(self) -> None:
        problems: list[Problem] = []
        if self.model not in MODELS:
            problems.append(Problem("model", self.model, f"must be one of {', '.join(MODELS)}"))
        if self.variant not in VARIANTS:
            problems.append(Problem("variant", self.variant,
                                    f"must be one of {', '.join(VARIANTS)}"))
        res, classes = MODEL_DEFAULTS.get(self.model, (None, None))
        if self.resolution is None:
            object.__setattr__(self, "resolution", res)
        if self.classes is None:
            object.__setattr__(self, "classes", classes)
        self._number("width", problems, low=0.0, high=MAX_WIDTH, strict=True)
        self._number("alpha", problems, low=0.0, high=1.0, high_open=True)
        self._number("r_factor", problems, low=0.0, high=None, strict=True)
        self._integer("resolution", problems, 1, MAX_RESOLUTION, allow_none=self.model not in
                      MODELS)
        self._integer("classes", problems, 1, None, allow_none=self.model not in MODELS)
        self._integer("patch", problems, 1, MAX_PATCH)
        self._integer("groups", problems, 1, None)
        self._integer("fc_hidden", problems, 1, None, allow_none=True)
        self._integer("seed", problems, 0, 2 ** 63 - 1)
        if self.fp_bytes not in (2, 4) or isinstance(self.fp_bytes, bool):
            problems.append(Problem("fp_bytes", self.fp_bytes, "must be 2 or 4"))
        overrides = self._overrides(problems)
        object.__setattr__(self, "overrides", overrides)
        if self.variant == "strassen" and (self.alpha != 0 or
                                           any(o[1] not in (0, 1) for o in overrides)):
            problems.append(Problem("alpha", self.alpha, "the strassen variant has alpha = 0 "
                                    "(or 1 per layer: kept fp) everywhere; use variant "
                                    "'hybrid' for fp channels"))
        if self.variant in ("baseline", "twn") and overrides:
            problems.append(Problem("overrides", [o[0] for o in overrides],
                                    f"the {self.variant} variant has no strassenified layers"))
        self._binary_fields(problems)
        if problems:
            raise InputError(problems)

    # -- validation helpers ----------------------------------------------------------------
    def _number(self, name: str, problems: list[Problem], *, low: float, high: float | None,
                strict: bool = False, high_open: bool = False) -> None:
        value = getattr(self, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                not math.isfinite(value):
            problems.append(Problem(name, value, "must be a finite number"))
            return
        object.__setattr__(self, name, float(value))
        if value < low or (strict and value == low):
            problems.append(Problem(name, value, f"must be {'>' if strict else '>='} {low:g}"))
        elif high is not None and (value > high or (high_open and value == high)):
            problems.append(Problem(name, value, f"must be {'<' if high_open else '<='} "
                                                 f"{high:g}"))

    def _integer(self, name: str, problems: list[Problem], low: int, high: int | None, *,
                 allow_none: bool = False) -> None:
        value = getattr(self, name)
        if value is None and allow_none:
            return
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(Problem(name, value, "must be an integer"))
        elif value < low or (high is not None and value > high):
            bound = f"in [{low}, {high}]" if high is not None else f">= {low}"
            problems.append(Problem(name, value, f"must be {bound}"))

    def _overrides(self, problems: list[Problem]) -> tuple[tuple[str, float, float], ...]:
        raw = self.overrides
        if not isinstance(raw, (tuple, list)):
            problems.append(Problem("overrides", raw, "must be a list of (layer, alpha, "
                                                      "r_factor)"))
            return ()
        out: list[tuple[str, float, float]] = []
        seen: set[str] = set()
        for i, item in enumerate(raw):
            field = f"overrides[{i}]"
            if not isinstance(item, (tuple, list)) or len(item) != 3 or \
                    not isinstance(item[0], str) or not item[0]:
                problems.append(Problem(field, item, "must be (layer_name, alpha, r_factor)"))
                continue
            name, alpha, factor = item
            ok = True
            for label, value in (("alpha", alpha), ("r_factor", factor)):
                if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                        not math.isfinite(value):
                    problems.append(Problem(f"{field}.{label}", value, "must be a number"))
                    ok = False
                elif label == "alpha" and not 0.0 <= value <= 1.0:
                    problems.append(Problem(f"{field}.alpha", value, "must be in [0, 1] (1 "
                                            "keeps the layer full precision)"))
                    ok = False
                elif label == "r_factor" and value <= 0:
                    problems.append(Problem(f"{field}.r_factor", value, "must be > 0"))
                    ok = False
            if name in seen:
                problems.append(Problem(f"{field}.name", name, "layer overridden twice"))
                ok = False
            seen.add(name)
            if ok:
                out.append((name, float(alpha), float(factor)))
        return tuple(out)

    def _binary_fields(self, problems: list[Problem]) -> None:
        """Check ``binarize``, ``binary_last``, ``word_bits`` and the model/variant pair."""
        allowed = MODEL_VARIANTS.get(self.model)
        if allowed is not None and self.variant in VARIANTS and self.variant not in allowed:
            problems.append(Problem("variant", self.variant, f"{self.model} is built in the "
                                    f"variants {', '.join(allowed)}"))
        binary = self.variant in BINARY_VARIANTS
        if self.variant in BINARY_VARIANTS and self.overrides:
            problems.append(Problem("overrides", [o[0] for o in self.overrides],
                                    "strassen overrides do not apply to binary variants; "
                                    "use binarize"))
        bits = self.word_bits
        if isinstance(bits, bool) or not isinstance(bits, int) or bits < 1 or \
                bits & (bits - 1) or bits > MAX_WORD_BITS:
            problems.append(Problem("word_bits", bits, f"bits per packed word: must be a power "
                                    f"of two from 1 to {MAX_WORD_BITS}"))
        if not isinstance(self.binary_last, bool):
            problems.append(Problem("binary_last", self.binary_last, "must be true or false"))
        elif self.binary_last and not binary:
            problems.append(Problem("binary_last", True, f"the {self.variant} variant has no "
                                    "binary layers"))
        raw = self.binarize
        if not isinstance(raw, (tuple, list)):
            problems.append(Problem("binarize", raw, "must be a list of (layer, kind)"))
            object.__setattr__(self, "binarize", ())
            return
        out: list[tuple[str, str]] = []
        seen: set[str] = set()
        for i, item in enumerate(raw):
            field = f"binarize[{i}]"
            if not isinstance(item, (tuple, list)) or len(item) != 2 or \
                    not isinstance(item[0], str) or not item[0]:
                problems.append(Problem(field, item, "must be (layer_name, kind)"))
                continue
            name, kind = item
            if kind not in BINARY_KINDS:
                problems.append(Problem(f"{field}.kind", kind,
                                        f"must be one of {', '.join(BINARY_KINDS)}"))
            elif name in seen:
                problems.append(Problem(f"{field}.name", name, "layer binarized twice"))
            else:
                out.append((name, kind))
            seen.add(name)
        if out and not binary:
            problems.append(Problem("binarize", [o[0] for o in out], f"the {self.variant} "
                                    "variant has no binary layers; use wbin, fbin or hbn"))
        object.__setattr__(self, "binarize", tuple(out))

    # -- conversions -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON-ready (overrides as lists); the binary fields only when they are
        not at their defaults."""
        d = asdict(self)
        d["overrides"] = [list(o) for o in self.overrides]
        d["binarize"] = [list(o) for o in self.binarize]
        for key, default in (("binarize", []), ("binary_last", False), ("word_bits", 64)):
            if d[key] == default:
                del d[key]
        return d

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> ModelSpec:
        """Inverse of :meth:`to_dict`. Raises :class:`InputError` on unknown or bad fields."""
        if not isinstance(doc, Mapping):
            raise InputError(Problem("params", doc, "must be a mapping of ModelSpec fields"))
        known = [f.name for f in fields(cls)]
        unknown = [k for k in doc if k not in known]
        if unknown:
            raise InputError([Problem(f"params.{k}", "<key>", "unknown ModelSpec field")
                              for k in unknown])
        if "model" not in doc:
            raise InputError(Problem("params.model", "<missing>", "required field is missing"))
        kwargs = dict(doc)
        for key in ("overrides", "binarize"):
            if isinstance(kwargs.get(key), list):
                kwargs[key] = tuple(tuple(o) if isinstance(o, list) else o for o in kwargs[key])
        return cls(**kwargs)

    @classmethod
    def from_provenance(cls, provenance: Mapping[str, Any]) -> ModelSpec:
        """The spec that produced a trace, from the trace's ``provenance`` mapping.
        Raises :class:`InputError` if the provenance is not from :mod:`accelsim.reference`."""
        if not isinstance(provenance, Mapping) or provenance.get("generator") != GENERATOR:
            gen = provenance.get("generator") if isinstance(provenance, Mapping) else provenance
            raise InputError(Problem("provenance.generator", gen,
                                     f"not a trace written by {GENERATOR}"))
        return cls.from_dict(provenance.get("params", {}))

    def slug(self) -> str:
        """A readable file-stem-like name, e.g. ``mobilenet_v1_0.5_hybrid_a0.25_r1.33``."""
        parts = [self.model]
        if self.model == "mobilenet_v1" or self.width != 1.0:
            parts.append(f"{self.width:g}")
        res, classes = MODEL_DEFAULTS[self.model]
        if self.resolution != res:
            parts.append(f"{self.resolution}px")
        if self.classes != classes:
            parts.append(f"{self.classes}cls")
        parts.append(self.variant)
        if self.variant == "hybrid":
            parts.append(f"a{self.alpha:g}")
        if self.variant in ("strassen", "hybrid"):
            parts.append(f"r{self.r_factor:g}")
            if self.patch != 1:
                parts.append(f"p{self.patch}")
            if self.groups != 1:
                parts.append(f"g{self.groups}")
            if self.overrides:
                parts.append(f"{len(self.overrides)}overrides")
        if self.variant in BINARY_VARIANTS:
            if self.binary_last:
                parts.append("binlast")
            if self.word_bits != 64:
                parts.append(f"w{self.word_bits}")
            for kind in ("wbin", "fbin", "fp"):
                count = sum(1 for _, k in self.binarize if k == kind)
                if count:
                    parts.append(f"{count}{kind}")
        return "_".join(parts)


#: Schema of a model spec file (written by ``accelsim partition -o``, read by ``accelsim trace``).
SPEC_SCHEMA = "accelsim.modelspec"


def dumps_spec(spec: ModelSpec, note: Mapping[str, Any] | None = None) -> str:
    """A model spec file: ``{"schema", "schema_version": 1, "params": spec.to_dict()}`` plus an
    optional free-form ``note`` mapping (e.g. how a partition was chosen), JSON with one
    trailing newline."""
    import json
    doc: dict[str, Any] = {"schema": SPEC_SCHEMA, "schema_version": 1, "params": spec.to_dict()}
    if note is not None:
        doc["note"] = dict(note)
    return json.dumps(doc, indent=1) + "\n"


def load_spec(path: Any) -> ModelSpec:
    """Read a model spec file (:func:`dumps_spec`). Raises :class:`InputError` naming the file,
    the field and the value (unreadable file, malformed JSON, wrong schema, bad parameters)."""
    import json
    from pathlib import Path

    from accelsim.documents import parse_json, read_text

    source = str(path)
    text = read_text(Path(path), InputError, source)
    try:
        doc = parse_json(text, source)
    except (json.JSONDecodeError, RecursionError) as exc:
        where = f"line {exc.lineno} column {exc.colno}: {exc.msg}" \
            if isinstance(exc, json.JSONDecodeError) else "<nested too deeply>"
        raise InputError(Problem("<document>", where, "malformed JSON"), source) from None
    if not isinstance(doc, dict) or doc.get("schema") != SPEC_SCHEMA:
        value = doc.get("schema", "<missing>") if isinstance(doc, dict) else doc
        raise InputError(Problem("schema", value, f"must be '{SPEC_SCHEMA}' (a model spec "
                                 "file written by accelsim partition -o)"), source)
    if doc.get("schema_version") != 1:
        raise InputError(Problem("schema_version", doc.get("schema_version", "<missing>"),
                                 "this accelsim reads version 1"), source)
    try:
        return ModelSpec.from_dict(doc.get("params", "<missing>"))
    except InputError as exc:
        raise InputError([Problem(p.field if p.field.startswith("params") else
                                  f"params.{p.field}", p.value, p.why)
                          for p in exc.problems], source) from None
