"""A pretrained text backbone that ships with a PyPI package: wordllama's 256-d token embeddings (MIT).

Why: with no CLIP weights downloadable here, every text tower of the offline demo is random, so the frozen
label encoder gives arbitrary label embeddings and custom label sets mean nothing. wordllama (0.4.0.post1)
carries token embeddings distilled from Llama 2 (`weights/l2_supercat_256.safetensors`) and their tokenizer
(`tokenizers/l2_supercat_tokenizer_config.json`) inside its wheel; mean-pooled, their cosine similarity
already ranks emotion words sensibly ("I am so happy today" is nearest "happy").

The files are read straight from the installed package (no `WordLlama.load`, whose package-root lookup
misses the tokenizer and then tries the network), so this is offline by construction.

Shape of the tower (the text-tower interface of `merclip.pretrained.text_tower`, so the models wing's
`LanguageEncoder` and `LabelEncoder` wrap it as they wrap CLIP's): frozen embeddings (B, T, 256) -> masked mean over
the text (and any spliced context vectors) -> linear projection to the joint width D. Per-token outputs are the
projected embeddings, with the sentence embedding at EOS, as CLIP's tower carries the sentence at EOS. The embedding
table is shared by the language tower and the label encoder and is not saved in checkpoints (it ships with
wordllama); the model's builder fills it after construction (`load_wordllama_embeddings`).
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .text_tower import trimmed_length

WORDLLAMA_WIDTH = 256
WORDLLAMA_VOCAB = 32000  # Llama 2's SentencePiece vocabulary
WEIGHTS_FILE = Path("weights") / "l2_supercat_256.safetensors"
TOKENIZER_FILE = Path("tokenizers") / "l2_supercat_tokenizer_config.json"
TENSOR_KEY = "embedding.weight"


def wordllama_dir() -> Path:
    try:
        import wordllama
    except ImportError as exc:
        raise ImportError("the wordllama text backbone needs the package: pip install wordllama==0.4.0.post1") from exc
    return Path(wordllama.__file__).parent


class WordLlamaTokenizer:
    """Callable like open_clip's tokenizer: texts -> (N, context_length) ids laid out as CLIP lays them out.

    Row layout: SOS, text tokens, EOS, zero padding. SOS and EOS are two ids appended after the Llama
    vocabulary, EOS the largest, so `ids.argmax(-1)` finds EOS as the rest of the code expects.
    """

    def __init__(self, tokenizer, context_length: int = 77):
        self.tokenizer = tokenizer  # a `tokenizers.Tokenizer`
        self.context_length = context_length
        self.vocab_size = WORDLLAMA_VOCAB + 2
        self.sos_id, self.eos_id = WORDLLAMA_VOCAB, WORDLLAMA_VOCAB + 1
        self._decoder: dict[int, str] | None = None

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def __call__(self, texts: str | Sequence[str]) -> torch.Tensor:
        texts = [texts] if isinstance(texts, str) else list(texts)
        ids = torch.zeros(len(texts), self.context_length, dtype=torch.long)  # (N, T)
        for i, enc in enumerate(self.tokenizer.encode_batch(texts, add_special_tokens=False)):
            body = enc.ids[: self.context_length - 2]  # truncate like CLIP: keep the start
            ids[i, : len(body) + 2] = torch.tensor([self.sos_id, *body, self.eos_id])
        return ids

    @property
    def decoder(self) -> dict[int, str]:
        """id -> readable piece, for attention-map axis labels (predict.token_strings)."""
        if self._decoder is None:
            vocab = self.tokenizer.get_vocab()
            self._decoder = {i: t.replace("\u2581", " ").strip() or t for t, i in vocab.items()}
            self._decoder.update({self.sos_id: "<sos>", self.eos_id: "<eos>"})
        return self._decoder


@lru_cache(maxsize=2)
def load_tokenizer(context_length: int = 77) -> WordLlamaTokenizer:
    from tokenizers import Tokenizer

    path = wordllama_dir() / TOKENIZER_FILE
    return WordLlamaTokenizer(Tokenizer.from_file(str(path)), context_length)


class FrozenEmbedding(nn.Module):
    """A token table kept out of state_dict (a non-persistent buffer): it ships with wordllama, not in checkpoints."""

    def __init__(self, num: int = WORDLLAMA_VOCAB + 2, width: int = WORDLLAMA_WIDTH):
        super().__init__()
        self.register_buffer("weight", torch.zeros(num, width), persistent=False)  # (V + 2, 256); SOS/EOS rows 0

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return F.embedding(ids, self.weight)  # (B, T) -> (B, T, 256)


class WordLlamaTextTower(nn.Module):
    """Frozen word embeddings -> masked mean -> linear projection (a text tower: merclip.pretrained.text_tower)."""

    def __init__(self, embedding: FrozenEmbedding, embed_dim: int):
        super().__init__()
        self.token_embedding = embedding
        self.text_projection = nn.Linear(embedding.weight.shape[1], embed_dim, bias=False)
        # Orthonormal columns (D >= 256) keep wordllama's cosine similarities exactly at initialisation, so the
        # zero-shot ranking holds before any training; for D < 256 it is a random orthogonal projection.
        nn.init.orthogonal_(self.text_projection.weight)
        self.trim_padding = True

    @property
    def width(self) -> int:
        return int(self.token_embedding.weight.shape[1])

    def set_grad_checkpointing(self, enabled: bool = True) -> None:
        """Nothing to checkpoint: a mean and one projection keep next to no activations for backward."""

    def forward_embeddings(self, x: torch.Tensor, eos_index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # x (B, T, W) token embeddings (context vectors possibly spliced in); eos_index (B,)
        n = trimmed_length(x, eos_index, self.trim_padding)
        x = x[:, :n]  # (B, n, W)
        pos = torch.arange(n, device=x.device)
        body = ((pos[None, :] >= 1) & (pos[None, :] < eos_index[:, None])).to(x.dtype)  # (B, n): between SOS and EOS
        pooled = (x * body.unsqueeze(-1)).sum(1) / body.sum(1, keepdim=True).clamp_min(1.0)  # (B, W)
        eos = self.text_projection(pooled)  # (B, D)
        tokens = self.text_projection(x).clone()  # (B, n, D)
        tokens[torch.arange(x.shape[0], device=x.device), eos_index] = eos  # the sentence sits at EOS, as in CLIP
        return tokens, eos

    def forward(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.forward_embeddings(self.token_embedding(ids), ids.argmax(dim=-1))


def wordllama_towers(embed_dim: int) -> tuple[WordLlamaTextTower, WordLlamaTextTower]:
    """(language tower, label-encoder tower) on one shared, still empty, table (construction only: no file is read;
    `load_wordllama_embeddings` fills the table). Both start from the same projection, as CLIP's two copies do."""
    table = FrozenEmbedding()
    language = WordLlamaTextTower(table, embed_dim)
    frozen = WordLlamaTextTower(table, embed_dim)
    frozen.text_projection.load_state_dict(language.text_projection.state_dict())
    return language, frozen


def read_embeddings(path: str | Path | None = None) -> torch.Tensor:
    """wordllama's token table (32000, 256) float32 from the installed package (or a given file)."""
    from safetensors.torch import load_file

    path = Path(path) if path else wordllama_dir() / WEIGHTS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"wordllama weights not found at {path}; pip install wordllama==0.4.0.post1")
    table = load_file(str(path))[TENSOR_KEY].float()
    if table.shape != (WORDLLAMA_VOCAB, WORDLLAMA_WIDTH):
        raise ValueError(f"unexpected wordllama table shape {tuple(table.shape)} in {path}")
    return table


def load_wordllama_embeddings(model: nn.Module, path: str | Path | None = None) -> nn.Module:
    """Fill every FrozenEmbedding of `model` with wordllama's table (SOS/EOS rows stay zero)."""
    table = read_embeddings(path)
    for module in model.modules():
        if isinstance(module, FrozenEmbedding):
            module.weight[: table.shape[0]].copy_(table.to(module.weight.device))
    return model
