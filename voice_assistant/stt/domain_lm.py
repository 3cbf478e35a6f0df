"""A small domain language model for PocketSphinx, built from the knowledge pack.

Pure Python: interpolated Kneser-Ney trigrams over the pack's phrasings
(examples x3, commands x3, red-flag examples x3, answers and keywords x1,
and any red-flag pattern word none of those has, alone x1),
mixed at weight 0.05 with a general-English background (the 5,000 most
frequent words of PocketSphinx's bundled model, plus bigrams among the top
1,000). The background lets paraphrases and off-topic speech come out as
themselves instead of being forced onto domain words. Measured with
bench/sweep_asr.py. Building the background takes seconds, so the result is
cached by content hash (see :mod:`voice_assistant.stt.pocketsphinx_engine`).
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import unicodedata
from collections import Counter, defaultdict

from voice_assistant.knowledge import KnowledgePack
from voice_assistant.nlu.commands import COMMAND_PHRASES

LOG10 = math.log(10)


def model_dir() -> str:
    import pocketsphinx

    return os.path.join(pocketsphinx.get_model_path(), "en-us")


def words_of(text: str) -> list[str]:
    """Lower-case word tokens as the recognizer's dictionary spells them."""
    text = text.lower().replace("\u2019", "'")
    text = re.sub(r"[-/]", " ", text)
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    return [word.strip("'") for word in text.split() if word.strip("'")]


def split_sentences(text: str) -> list[str]:
    return [s for s in re.split(r"[.!?;:,]\s+|[.!?]$", text.replace("\n", " ")) if s.strip()]


_CONTRACTIONS = (("can not", "can't"), ("do not", "don't"), ("does not", "doesn't"), ("i am", "i'm"),
                 ("is not", "isn't"), ("what is", "what's"), ("it is", "it's"), ("did not", "didn't"),
                 ("could not", "couldn't"), ("will not", "won't"), ("i have", "i've"))


def spoken_variants(text: str) -> list[str]:
    """The text as written and as usually spoken ('can not' -> "can't"), so both forms are likely."""
    lowered = text.lower()
    contracted = lowered
    for full, short in _CONTRACTIONS:
        contracted = re.sub(rf"\b{full}\b", short, contracted)
    return [lowered] if contracted == lowered else [lowered, contracted]


def domain_sentences(pack: KnowledgePack, extra: tuple[str, ...] = ()) -> list[tuple[list[str], float]]:
    """Weighted training sentences from the pack: what people say counts three times what it answers."""
    out: list[tuple[list[str], float]] = []

    def add(text: str, weight: float) -> None:
        for variant in spoken_variants(text):
            tokens = words_of(variant)
            if tokens:
                out.append((tokens, weight))

    for entry in (*pack.entries, *pack.declines):
        for example in entry.examples:
            add(example, 3)
        for keyword in entry.keywords:
            add(keyword, 1)
    for entry in pack.entries:
        add(entry.title, 1)
        for chunk in entry.chunks:
            for sentence in split_sentences(chunk):
                add(sentence, 1)
    for text in (pack.disclaimer, pack.greeting, pack.emergency):
        for sentence in split_sentences(text):
            add(sentence, 1)
    for flag in pack.red_flags:
        add(flag.name, 1)
        for example in flag.examples:
            add(example, 3)
    for phrases in COMMAND_PHRASES.values():
        for phrase in phrases:
            add(phrase, 3)
    for phrase in extra:
        add(phrase, 3)
    # A symptom word no phrasing uses must still be heard; alone as a sentence, so only those words:
    # common ones ('did') would be made likelier as a whole utterance ('next' heard as 'did').
    known = {token for tokens, _ in out for token in tokens}
    for flag in pack.red_flags:
        for word in flag.pattern_words():
            if word not in known:
                add(word, 1)
                known.add(word)
    return out


# ----------------------------------------------------------------------------- backoff model
class BackoffLM:
    """probs[n][ngram tuple] = log10 p ; bows[n][ngram tuple] = log10 backoff."""

    def __init__(self, order):
        self.order = order
        self.probs = [None] + [dict() for _ in range(order)]
        self.bows = [None] + [dict() for _ in range(order)]

    def logp(self, ngram: tuple) -> float:
        """log10 P(ngram[-1] | ngram[:-1]) with backoff; -inf if word unknown."""
        n = len(ngram)
        if n > self.order:
            ngram = ngram[-self.order:]; n = self.order
        lp = self.probs[n].get(ngram)
        if lp is not None:
            return lp
        if n == 1:
            return -math.inf
        return self.bows[n - 1].get(ngram[:-1], 0.0) + self.logp(ngram[1:])

    def vocab(self):
        return [g[0] for g in self.probs[1]]

    def to_arpa(self) -> str:
        lines = ["\\data\\"]
        for n in range(1, self.order + 1):
            lines.append(f"ngram {n}={len(self.probs[n])}")
        for n in range(1, self.order + 1):
            lines.append("")
            lines.append(f"\\{n}-grams:")
            bows = self.bows[n] if n < self.order else {}
            for g in sorted(self.probs[n]):
                p = self.probs[n][g]
                ps = "-99" if p == -math.inf else f"{p:.5f}"
                if n < self.order:
                    lines.append(f"{ps}\t{' '.join(g)}\t{bows.get(g, 0.0):.5f}")
                else:
                    lines.append(f"{ps}\t{' '.join(g)}")
        lines += ["", "\\end\\", ""]
        return "\n".join(lines)


def kneser_ney(sentences, order=3, discount=None) -> BackoffLM:
    """Interpolated Kneser-Ney with one absolute discount per order."""
    counts = [None] + [Counter() for _ in range(order)]
    for toks, w in sentences:
        s = ["<s>"] + list(toks) + ["</s>"]
        for n in range(1, order + 1):
            for i in range(len(s) - n + 1):
                g = tuple(s[i:i + n])
                if g == ("<s>",):
                    continue
                counts[n][g] += w
    # KN: lower orders use continuation counts N1+(. w)
    adj = [None] + [Counter() for _ in range(order)]
    adj[order] = counts[order]
    for n in range(1, order):
        for g in counts[n + 1]:
            adj[n][g[1:]] += 1
        for g, c in counts[n].items():  # n-grams starting with <s> have no left context
            if g[0] == "<s>":
                adj[n][g] = c
    adj[1][("<s>",)] = 0
    D = [None]
    for n in range(1, order + 1):
        if discount is not None:
            D.append(discount); continue
        cc = Counter(round(c) for c in adj[n].values())
        n1, n2 = cc.get(1, 0), cc.get(2, 0)
        D.append(min(max(n1 / (n1 + 2 * n2), 0.1), 0.9) if n1 + n2 else 0.7)
    lm = BackoffLM(order)
    vocab = sorted({g[0] for g in counts[1]} | {"<s>"})
    # unigrams: discounted continuation probability interpolated with uniform
    tot = sum(adj[1].values()); nz = sum(1 for g, c in adj[1].items() if c > 0)
    gamma0 = D[1] * nz / tot
    for w in vocab:
        c = adj[1].get((w,), 0)
        if w == "<s>":
            lm.probs[1][(w,)] = -99.0
            continue
        p = max(c - D[1], 0) / tot + gamma0 / (len(vocab) - 1)
        lm.probs[1][(w,)] = math.log10(p)
    for n in range(2, order + 1):
        ctx_tot = Counter(); ctx_types = Counter()
        for g, c in adj[n].items():
            ctx_tot[g[:-1]] += c; ctx_types[g[:-1]] += 1
        for h, t in ctx_tot.items():
            lm.bows[n - 1][h] = math.log10(D[n] * ctx_types[h] / t)
        for g, c in adj[n].items():
            h = g[:-1]
            lower = 10 ** lm.logp(g[1:])
            p = max(c - D[n], 0) / ctx_tot[h] + (10 ** lm.bows[n - 1][h]) * lower
            lm.probs[n][g] = math.log10(p)
    return lm


# ----------------------------------------------------------------------------- background
_BG_CACHE = {}


def load_background(n_words=5000, bigram_words=0, lm_path=None, dict_path=None,
                    min_bigram_logp=-3.0) -> BackoffLM:
    """Top-N unigram (and optional explicit bigrams among the top-K words) of en-us.lm.bin.

    NGramModel.write() of the bundled trie LM produces -inf probabilities, so we query
    NGramModel.prob() instead: prob([w]) = unigram, prob([w2, w1]) = P(w2|w1).
    A bigram is 'explicit' when P(w2|w1)/P(w2) differs from the (modal) backoff ratio of w1.
    """
    import pocketsphinx as ps
    key = (n_words, bigram_words, min_bigram_logp)
    if key in _BG_CACHE:
        return _BG_CACHE[key]
    lm_path = lm_path or os.path.join(model_dir(), "en-us.lm.bin")
    dict_path = dict_path or os.path.join(model_dir(), "cmudict-en-us.dict")
    m = ps.NGramModel.readfile(lm_path)
    L = math.log(1.0001) / LOG10  # pocketsphinx log base 1.0001 -> log10
    words = set()
    for line in open(dict_path, encoding="utf-8", errors="replace"):
        w = line.split(" ", 1)[0]
        words.add(re.sub(r"\(\d+\)$", "", w))
    uni = []
    for w in words:
        s = m.prob([w])
        if s > -536870000:
            uni.append((s, w))
    uni.sort(reverse=True)
    top = [w for _, w in uni[:n_words]]
    es = m.prob(["</s>"])
    Z = sum(10 ** (s * L) for s, _ in uni[:n_words]) + 10 ** (es * L)
    bg = BackoffLM(2 if bigram_words else 1)
    for s, w in uni[:n_words]:
        bg.probs[1][(w,)] = s * L - math.log10(Z)
    bg.probs[1][("</s>",)] = es * L - math.log10(Z)
    bg.probs[1][("<s>",)] = -99.0
    if bigram_words:
        targets = top + ["</s>"]
        tscore = {w: m.prob([w]) for w in targets}
        for h in ["<s>"] + top[:bigram_words]:
            ratios = {}
            for w in targets:
                ratios[w] = m.prob([w, h]) - tscore[w]
            mode = Counter(ratios.values()).most_common(1)[0][0]
            expl = {w: (tscore[w] + r) * L for w, r in ratios.items()
                    if abs(r - mode) > 2 and (tscore[w] + r) * L > min_bigram_logp}
            if not expl:
                continue
            # renormalise P(.|h) over the restricted vocabulary
            tot_all = sum(10 ** ((tscore[w] + r) * L) for w, r in ratios.items())
            for w, lp in expl.items():
                bg.probs[2][(h, w)] = lp - math.log10(tot_all)
            pe = sum(10 ** bg.probs[2][(h, w)] for w in expl)
            pl = sum(10 ** bg.probs[1][(w,)] for w in expl)
            bg.bows[1][(h,)] = math.log10(max(1 - pe, 1e-9) / max(1 - pl, 1e-9))
    _BG_CACHE[key] = bg
    return bg


def mix(models, weights, order=None) -> BackoffLM:
    """Linear interpolation of backoff LMs, re-expressed as one backoff LM."""
    order = order or max(m.order for m in models)
    out = BackoffLM(order)
    grams = [None] + [set() for _ in range(order)]
    for m in models:
        for n in range(1, m.order + 1):
            grams[n].update(m.probs[n])
    def pm(g):
        s = 0.0
        for m, lam in zip(models, weights):
            lp = m.logp(g)
            if lp > -90:
                s += lam * 10 ** lp
        return math.log10(s) if s > 0 else -99.0
    for n in range(1, order + 1):
        for g in grams[n]:
            out.probs[n][g] = -99.0 if g == ("<s>",) else pm(g)
    # backoff weights so that each context sums to one
    for n in range(2, order + 1):
        num = defaultdict(float); den = defaultdict(float)
        for g in grams[n]:
            num[g[:-1]] += 10 ** out.probs[n][g]
            den[g[:-1]] += 10 ** out.logp(g[1:])
        for h in num:
            out.bows[n - 1][h] = math.log10(max(1 - num[h], 1e-9) / max(1 - den[h], 1e-9))
    return out


def build_arpa(sentences, background=None, bg_weight=0.1, order=3, discount=None) -> str:
    """sentences: list of strings or (tokens|string, weight). background: BackoffLM or None."""
    norm = []
    for s in sentences:
        if isinstance(s, tuple):
            t, w = s
        else:
            t, w = s, 1.0
        norm.append((words_of(t) if isinstance(t, str) else list(t), w))
    lm = kneser_ney(norm, order=order, discount=discount)
    if background is not None and bg_weight > 0:
        lm = mix([lm, background], [1 - bg_weight, bg_weight], order=order)
    return lm.to_arpa()


# ----------------------------------------------------------------------------- dictionary
def vocab_of_arpa(arpa: str):
    v, on = [], False
    for line in arpa.splitlines():
        if line.startswith("\\1-grams"):
            on = True; continue
        if on:
            if line.startswith("\\"):
                break
            parts = line.split("\t")
            if len(parts) >= 2 and parts[1] not in ("<s>", "</s>"):
                v.append(parts[1])
    return v


def make_dict(vocab, cmudict_path=None):
    """-> (dict text restricted to vocab incl. alternates, sorted missing words)."""
    cmudict_path = cmudict_path or os.path.join(model_dir(), "cmudict-en-us.dict")
    want = set(vocab); lines = []; found = set()
    for line in open(cmudict_path, encoding="utf-8", errors="replace"):
        w = line.split(" ", 1)[0]
        base = re.sub(r"\(\d+\)$", "", w)
        if base in want:
            lines.append(line.rstrip("\n")); found.add(base)
    return "\n".join(lines) + "\n", sorted(want - found)


_IPA = [("eɪ", "EY"), ("aɪ", "AY"), ("oʊ", "OW"), ("əʊ", "OW"), ("aʊ", "AW"), ("ɔɪ", "OY"),
        ("dʒ", "JH"), ("tʃ", "CH"), ("ɜː", "ER"), ("ɜ", "ER"), ("ɝ", "ER"), ("ɚ", "ER"),
        ("ɑː", "AA"), ("ɑ", "AA"), ("ɒ", "AA"), ("ɔː", "AO"), ("ɔ", "AO"), ("oː", "AO"),
        ("iː", "IY"), ("i", "IY"), ("uː", "UW"), ("u", "UW"), ("ʊ", "UH"), ("ɪ", "IH"),
        ("ᵻ", "IH"), ("ɛ", "EH"), ("æ", "AE"), ("ʌ", "AH"), ("ə", "AH"), ("ɐ", "AH"),
        ("o", "OW"), ("e", "EH"), ("a", "AE"), ("ɾ", "T"), ("θ", "TH"), ("ð", "DH"),
        ("ʃ", "SH"), ("ʒ", "ZH"), ("ŋ", "NG"), ("ɹ", "R"), ("r", "R"), ("j", "Y"), ("w", "W"),
        ("h", "HH"), ("ɡ", "G"), ("g", "G"), ("x", "K"), ("ɬ", "L")] + \
       [(c, c.upper()) for c in "bdfklmnpstvz"]


def g2p_espeak(word: str) -> str | None:
    """Fallback pronunciation: espeak-ng IPA -> CMU ARPAbet (greedy longest match)."""
    try:
        ipa = subprocess.run(["espeak-ng", "-v", "en-us", "-q", "--ipa=3", word],
                             capture_output=True, text=True, timeout=10).stdout
    except Exception:
        return None
    ipa = "".join(ch for ch in ipa if not unicodedata.combining(ch))
    ipa = re.sub(r"[ˈˌ\u200d_\s-]", "", ipa).replace("ː", "ː")
    out, i = [], 0
    while i < len(ipa):
        for k, v in _IPA:
            if ipa.startswith(k, i):
                out.append(v); i += len(k); break
        else:
            i += 1  # skip unknown symbol (ʔ, ː, ...)
    return " ".join(out) or None


def make_dict_g2p(vocab, cmudict_path=None):
    """make_dict + espeak-ng fallback for words missing from cmudict -> (text, missing, guessed)."""
    text, missing = make_dict(vocab, cmudict_path)
    guessed = {}
    for w in missing:
        p = g2p_espeak(w)
        if p:
            guessed[w] = p
    text += "".join(f"{w} {p}\n" for w, p in guessed.items())
    return text, missing, guessed
