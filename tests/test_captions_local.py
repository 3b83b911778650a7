"""The local engine with tiny random models (tests/standins/tiny_lm.py): one batched generate, cleaned samples."""

from __future__ import annotations

import pytest
import torch

from memer import settings
from memer.captioning import SAFE, SENSITIVE, UNSAFE, CaptionRequest, generate_captions, local_engine
from memer.captioning.classifier import CLASSIFIER_CHECK
from memer.captioning.cleanup import clean_captions, first_line
from memer.errors import CaptionError, ModelError


class GenerateSpy:
    """Wraps a model's ``generate``: counts calls, keeps the inputs, options and outputs."""

    def __init__(self, model):
        self.model = model
        self.original = model.generate
        self.calls: list[dict] = []

    def __call__(self, **kwargs):
        output = self.original(**kwargs)
        self.calls.append({**kwargs, "output": output})
        return output


@pytest.fixture
def spy(monkeypatch):
    def attach(folder) -> tuple[local_engine.LocalModel, GenerateSpy]:
        local = local_engine.load_model(str(folder), device="cpu")
        wrapper = GenerateSpy(local.model)
        monkeypatch.setattr(local.model, "generate", wrapper)
        return local, wrapper

    return attach


@pytest.fixture(autouse=True)
def _cpu_and_short(monkeypatch):
    monkeypatch.setattr(settings, "DEVICE", "cpu")
    monkeypatch.setattr(settings, "MAX_NEW_TOKENS", 16)  # random weights rarely stop early: keep samples short


@pytest.mark.parametrize("fixture", ["tiny_gpt_neo", "tiny_chat_lm"])
def test_one_generate_call_yields_n_cleaned_candidates(request, spy, fixture):
    folder = request.getfixturevalue(fixture)
    local, generate = spy(folder)
    torch.manual_seed(1)

    batch = generate_captions("apple pie", description="a pie on a windowsill", engine="local", model=str(folder), n=10)

    assert len(generate.calls) == 1
    call = generate.calls[0]
    assert call["num_return_sequences"] == 10 and call["do_sample"] is True
    assert call["input_ids"].shape[0] == 1  # the prompt is encoded once
    assert call["temperature"] == settings.TEMPERATURE and call["top_p"] == settings.TOP_P
    assert call["max_new_tokens"] == settings.MAX_NEW_TOKENS
    assert call["output"].shape[0] == 10

    # What came back is exactly the cleanup of the ten decoded samples, cut at their first line break.
    prompt_length = call["input_ids"].shape[1]
    decoded = local.tokenizer.batch_decode(call["output"][:, prompt_length:], skip_special_tokens=True)
    expected, note = clean_captions([first_line(text) for text in decoded], 10)
    assert batch.texts == expected and batch.note == note
    assert 8 <= len(batch.captions) <= 10  # random weights: an empty sample now and then, said in the note
    assert (batch.note == "") == (len(batch.captions) == 10)
    assert all(text.strip() == text and "\n" not in text for text in batch.texts)
    assert batch.engine == "local" and batch.model == str(folder)
    assert batch.safety_check.startswith(CLASSIFIER_CHECK)
    assert batch.safety_check.endswith("is a text-only model and cannot see the picture")  # said, and skipped


def test_gpt_neo_gets_the_few_shot_prompt(spy, tiny_gpt_neo):
    local, generate = spy(tiny_gpt_neo)
    assert not local.is_chat
    generate_captions("apple pie", description="a pie on a windowsill", engine="local", model=str(tiny_gpt_neo), n=2)
    prompt = local.tokenizer.decode(generate.calls[0]["input_ids"][0])
    assert prompt.startswith("Meme captions, funny style.")
    assert prompt.endswith("Theme: apple pie\nImage description: a pie on a windowsill\nCaption:")
    assert prompt.count("Caption:") == 3  # two examples and the open one


def test_a_chat_model_gets_its_chat_template(spy, tiny_chat_lm):
    local, generate = spy(tiny_chat_lm)
    assert local.is_chat
    generate_captions("apple pie", engine="local", model=str(tiny_chat_lm), style="haiku", n=2)
    prompt = local.tokenizer.decode(generate.calls[0]["input_ids"][0])
    assert prompt.startswith("<|system|>\n")
    assert "<|user|>\nCreate a caption for a new meme about apple pie as a haiku" in prompt
    assert prompt.endswith("<|assistant|>\n")


def test_sampling_stops_at_a_line_break(tiny_gpt_neo, monkeypatch):
    """A GPT-Neo made to write a line break about one token in seven: every sample ends at its first one."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_gpt_neo))
    model = AutoModelForCausalLM.from_pretrained(str(tiny_gpt_neo))
    (newline,) = tokenizer.encode("\n", add_special_tokens=False)
    with torch.no_grad():  # every position sees the same hidden state; the line break gets logit ~4
        hidden = model.config.hidden_size
        model.transformer.ln_f.weight.zero_()
        model.transformer.ln_f.bias.fill_(0.1)
        model.transformer.wte.weight[newline] = 4.0 / (0.1 * hidden)
    local = local_engine.LocalModel("stopper", model.eval(), tokenizer, "cpu", torch.float32)
    monkeypatch.setattr(settings, "MAX_NEW_TOKENS", 40)
    torch.manual_seed(0)

    samples = local_engine.sample(local, "Theme: pie\nCaption:", 10)

    assert len(samples) == 10
    ended = [s for s in samples if s.endswith("\n")]
    assert len(ended) >= 8  # P(no break in 40 tokens) is about 0.2 %
    assert all(s.count("\n") <= 1 for s in samples)  # nothing is written after the first break


def test_the_model_is_loaded_once_per_process(monkeypatch, tiny_chat_lm):
    from transformers import AutoModelForCausalLM

    loads = []
    original = AutoModelForCausalLM.from_pretrained

    def counting(*args, **kwargs):
        loads.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(local_engine, "_loaded", {})
    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained", counting)
    first = local_engine.load_model(str(tiny_chat_lm))
    for _ in range(3):
        generate_captions("pie", engine="local", model=str(tiny_chat_lm), n=1)
    assert local_engine.load_model(str(tiny_chat_lm)) is first
    assert len(loads) == 1


def test_a_first_load_reports_through_the_progress_hook_and_prints_nothing(monkeypatch, tiny_chat_lm, capsys):
    monkeypatch.setattr(local_engine, "_loaded", {})
    heard: list[str] = []
    batch = generate_captions(
        "pie", engine="local", model=str(tiny_chat_lm), n=1, progress=lambda message, _: heard.append(message)
    )
    assert batch.captions
    assert heard[0].startswith(f"Loading the caption model {tiny_chat_lm} on cpu")
    assert heard[1].startswith(f"Loaded the caption model {tiny_chat_lm} on cpu in ")
    heard.clear()
    generate_captions("pie", engine="local", model=str(tiny_chat_lm), n=1, progress=lambda m, _: heard.append(m))
    assert heard == []  # loaded once: nothing more to report
    captured = capsys.readouterr()
    assert captured.out == "" and "Loading" not in captured.err


def test_caption_model_setting_is_the_default(monkeypatch, tiny_chat_lm):
    monkeypatch.setattr(settings, "CAPTION_MODEL", str(tiny_chat_lm))
    batch = generate_captions("pie", engine="local", n=2)
    assert batch.model == str(tiny_chat_lm)


@pytest.mark.parametrize("name", ["/nonexistent/caption-model", "nobody-here/no-such-model-xyz"])
def test_a_model_that_cannot_load_says_what_to_do(name):
    with pytest.raises(ModelError, match="MEMER_CAPTION_MODEL") as caught:
        generate_captions("pie", engine="local", model=name)
    assert name in str(caught.value)


@pytest.mark.parametrize(
    ("available", "requested", "expected"),
    [(True, "", "cuda"), (False, "", "cpu"), (True, "cpu", "cpu"), (False, "CPU", "cpu")],
)
def test_device_is_cuda_when_available(monkeypatch, tiny_chat_lm, available, requested, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *_: (7, 5))  # a T4, without one
    moved = []
    monkeypatch.setattr(torch.nn.Module, "to", lambda self, device, *a, **k: moved.append(device) or self)
    local_engine._loaded.clear()
    try:
        assert local_engine.load_model(str(tiny_chat_lm), device=requested).device == expected
    finally:
        local_engine._loaded.clear()
    assert moved == [expected]


def test_asking_for_cuda_without_a_gpu_is_a_clear_error(monkeypatch, tiny_chat_lm):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ModelError, match="no CUDA GPU is available"):
        local_engine.load_model(str(tiny_chat_lm), device="cuda")


@pytest.mark.parametrize(("setting", "value"), [("TEMPERATURE", 0.0), ("MAX_NEW_TOKENS", 0)])
def test_edge_settings_still_give_captions(monkeypatch, tiny_chat_lm, setting, value):
    from memer.captioning import generate_captions

    monkeypatch.setattr(settings, setting, value)
    batch = generate_captions("apple pie", engine="local", model=str(tiny_chat_lm), n=3)
    assert batch.engine == "local"


@pytest.mark.parametrize(
    ("version", "keyword"),
    [
        ("4.40.2", "torch_dtype"),
        ("4.55.4", "torch_dtype"),
        ("4.56.0", "dtype"),
        ("5.23.0", "dtype"),
        ("5.0.0rc1", "dtype"),
    ],
)
def test_dtype_keyword_matches_the_transformers_version(monkeypatch, version, keyword):
    import transformers

    monkeypatch.setattr(transformers, "__version__", version)
    assert local_engine._dtype_keyword() == keyword


def test_word_list_levels_each_caption(monkeypatch, tiny_chat_lm):
    written = ["This damn pie\nTheme: next", "1. A lovely pie.", "Fuck this pie", "  "]
    monkeypatch.setattr(local_engine, "sample", lambda local, prompt, n: written)
    batch = generate_captions("pie", engine="local", model=str(tiny_chat_lm), n=4)
    assert [(c.text, c.level) for c in batch.captions] == [
        ("This damn pie", SENSITIVE),
        ("A lovely pie", SAFE),
        ("Fuck this pie", UNSAFE),
    ]
    assert batch.captions[0].categories == ["mild profanity"]
    assert "only 3 of 4" in batch.note


def test_a_failure_while_generating_is_a_caption_error(monkeypatch, tiny_chat_lm):
    def boom(local, prompt, n):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(local_engine, "sample", boom)
    with pytest.raises(CaptionError, match="out of memory.*fewer captions"):
        generate_captions("pie", engine="local", model=str(tiny_chat_lm))


def test_the_request_carries_the_style(tiny_chat_lm):
    local = local_engine.load_model(str(tiny_chat_lm))
    prompt = local_engine.build_prompt(local, CaptionRequest("pie", style="sarcastic"))
    assert "sarcastic" in prompt
