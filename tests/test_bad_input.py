"""Bad input gets a clear error that names the parameter, the value and the fix (issue 11, list 6),
never a bare torch/numpy error from deep inside, nor a silent wrong answer."""
import numpy as np
import pytest
import torch

from ragteach.data.text import load_text
from ragteach.data.toy2d import ring
from ragteach.gan.models import Discriminator, Generator, toy_config
from ragteach.gpt.model import GPT, GPTConfig
from ragteach.gpt.train import GPTTrainer
from ragteach.metrics.modes import mode_stats
from ragteach.retrieval import BM25Retriever, TfidfRetriever


def test_mode_stats_refuses_nan_samples_and_bad_n_std_and_takes_numpy():
    mix = ring()
    x = mix.sample(200, torch.Generator().manual_seed(0))
    assert mode_stats(x.numpy(), mix).modes_captured == mode_stats(x, mix).modes_captured == 8
    x[5] = float("nan")
    with pytest.raises(ValueError, match="1 of 200 samples are NaN"):
        mode_stats(x, mix)
    for n_std in (0, -1.0, float("inf")):
        with pytest.raises(ValueError, match="n_std must be a finite number > 0"):
            mode_stats(mix.sample(10), mix, n_std)


def test_generator_and_discriminator_name_the_expected_shape():
    G, D = Generator(toy_config()), Discriminator(toy_config(pack=2))
    with pytest.raises(ValueError, match=r"z \(G's input\) must be a tensor of shape \(B, 2\), got \(4, 3\)"):
        G(torch.zeros(4, 3))
    with pytest.raises(ValueError, match=r"x \(D's input\) must be a tensor of shape \(B, 2\), got \(4,\)"):
        D(torch.zeros(4))
    with pytest.raises(ValueError, match="multiple of pack=2"):
        D(torch.zeros(3, 2))


@pytest.fixture(scope="module")
def tiny_gpt():
    data = load_text()
    cfg = GPTConfig(block_size=8, vocab_size=len(data.vocab), n_layer=1, n_head=1, n_embd=8)
    return GPTTrainer(cfg, data, batch_size=2)


def test_gpt_names_bad_ids_and_lengths(tiny_gpt):
    model: GPT = tiny_gpt.model
    with pytest.raises(ValueError, match=r"character ids must be in \[0, "):
        model(torch.tensor([[0, 999]]))
    with pytest.raises(ValueError, match=r"idx must be a \(B, T\) tensor"):
        model(torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="exceeds block_size 8"):
        model(torch.zeros(1, 9, dtype=torch.long))
    with pytest.raises(ValueError, match="targets must have the shape of idx"):
        model(torch.zeros(1, 4, dtype=torch.long), torch.zeros(1, 3, dtype=torch.long))


@pytest.mark.parametrize("n", [-5, 0, 2.5, True])
def test_gpt_sample_refuses_a_bad_length(tiny_gpt, n):
    with pytest.raises(ValueError, match="n_chars must be a whole number >= 1"):
        tiny_gpt.sample("def ", n)


@pytest.mark.parametrize("R", [BM25Retriever, TfidfRetriever])
def test_search_batch_of_no_queries_and_a_single_string(R):
    r = R().index(["a cat sat", "a dog ran"])
    ids, scores = r.search_batch([], 2)
    assert ids.shape == (0, 2) and scores.shape == (0, 2)
    with pytest.raises(TypeError, match="use search"):
        r.search_batch("a cat", 1)


@pytest.mark.parametrize("kw", [{"k1": float("inf")}, {"k1": -1}, {"b": 1.5}, {"k1": True}, {"epsilon": float("nan")}])
def test_bm25_parameters_must_be_finite_and_in_range(kw):
    with pytest.raises(ValueError, match=next(iter(kw))):
        BM25Retriever(**kw)


@pytest.mark.parametrize("R", [BM25Retriever, TfidfRetriever])
def test_index_is_transactional_and_refuses_wordless_documents_and_a_single_string(R):
    r = R().index(["a cat sat", "a dog ran"])
    before = r.search("cat", 2)
    with pytest.raises(ValueError, match="document 1 .* has no words"):
        r.index(["fine text", "   "])
    with pytest.raises(TypeError, match="got one string"):
        r.index("a cat sat")
    assert r.docs == ["a cat sat", "a dog ran"]
    assert all(np.array_equal(a, b) for a, b in zip(r.search("cat", 2), before))
    if R is BM25Retriever:
        with pytest.raises(ValueError):
            r.index_tokens([])
        assert r.weights.shape[1] == len(r.docs) == 2


def test_rag_trainer_refuses_batch_size_zero():
    from ragteach.retrieval.train import RAGTrainer

    with pytest.raises(ValueError, match="batch_size must be a whole number >= 1, got 0"):
        RAGTrainer(model=None, index=None, questions=["q"], batch_size=0)
