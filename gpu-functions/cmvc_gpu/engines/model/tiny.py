"""Tiny randomly initialised models, built from configs with the production classes (after
diffusers' and transformers' own tests): one layer, small heads, 32×32, in eval mode. Tokenizers
are built here from a word list, since nothing can be downloaded. The tests and ``npm run
gpu:smoke`` use them; nothing on the serving path does.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import (
    CLIPImageProcessor,
    CLIPVisionConfig,
    CLIPVisionModelWithProjection,
    PreTrainedTokenizerFast,
    Qwen2_5_VLConfig,
    Qwen2_5_VLForConditionalGeneration,
    Qwen2_5_VLProcessor,
    Qwen2VLImageProcessor,
    Qwen2VLVideoProcessor,
    UMT5Config,
    UMT5EncoderModel,
)

from . import prompts
from .config import ClipConfig, EncoderConfig, GeneratorConfig, ModelEngineConfig, ModelRef, StepSchedule

QWEN_SPECIAL = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]


def _words() -> list[str]:
    """Every word of every prompt, plus a few, so the tiny tokenizers see few unknowns."""
    text = " ".join(
        [
            prompts.SYSTEM_PROMPT,
            prompts.CONTENT_INSTRUCTION,
            prompts.MOTION_INSTRUCTION,
            prompts.NEGATIVE_PROMPT,
            prompts.INTERPOLATION_PROMPT,
        ]
    )
    words = sorted({w.strip(".,:;()'\"{}").lower() for w in text.split()} - {""})
    return words + ["red", "green", "blue", "square", "moves", "left", "right", "user", "assistant", "system"]


def word_tokenizer(special: list[str], pad: str, eos: str) -> PreTrainedTokenizerFast:
    tokens = list(dict.fromkeys(special + ["<unk>"] + _words()))  # unique, in order: ids 0..n-1
    vocab = {token: i for i, token in enumerate(tokens)}
    model = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    model.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    extra = [t for t in special if t not in (pad, eos)]
    return PreTrainedTokenizerFast(
        tokenizer_object=model, unk_token="<unk>", pad_token=pad, eos_token=eos, additional_special_tokens=extra
    )


CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
    "{% for c in m['content'] %}{% if c['type'] == 'video' %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif c['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>{% else %}{{ c['text'] }}{% endif %}"
    "{% endfor %}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def tiny_qwen() -> tuple[Qwen2_5_VLForConditionalGeneration, Qwen2_5_VLProcessor]:
    """A one-layer Qwen2.5-VL and its processor (14-pixel patches, 2×2 merge, small frames)."""
    tokenizer = word_tokenizer(QWEN_SPECIAL, pad="<|endoftext|>", eos="<|im_end|>")
    pixels = dict(min_pixels=28 * 28 * 4, max_pixels=28 * 28 * 4)
    processor = Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(**pixels),
        tokenizer=tokenizer,
        video_processor=Qwen2VLVideoProcessor(**pixels),
        chat_template=CHAT_TEMPLATE,
    )
    ids = tokenizer.convert_tokens_to_ids
    config = Qwen2_5_VLConfig(
        text_config=dict(
            vocab_size=len(tokenizer),
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=1,
            max_position_embeddings=1024,
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]},
            bos_token_id=ids("<|endoftext|>"),
            eos_token_id=ids("<|im_end|>"),
            pad_token_id=ids("<|endoftext|>"),
        ),
        vision_config=dict(
            depth=1,
            hidden_size=16,
            intermediate_size=24,
            num_heads=2,
            out_hidden_size=32,
            patch_size=14,
            spatial_merge_size=2,
            temporal_patch_size=2,
            window_size=56,
            fullatt_block_indexes=[0],
        ),
        image_token_id=ids("<|image_pad|>"),
        video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"),
        vision_end_token_id=ids("<|vision_end|>"),
    )
    torch.manual_seed(0)
    model = Qwen2_5_VLForConditionalGeneration(config).eval()
    model.generation_config.pad_token_id = ids("<|endoftext|>")
    model.generation_config.eos_token_id = ids("<|im_end|>")
    return model, processor


def tiny_clip(hidden: int = 16, projection: int = 8) -> tuple[CLIPVisionModelWithProjection, CLIPImageProcessor]:
    """A CLIP vision tower with projection on 32×32 images in 8×8 patches."""
    torch.manual_seed(0)
    model = CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=hidden,
            projection_dim=projection,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=24,
            image_size=32,
            patch_size=8,
        )
    ).eval()
    return model, CLIPImageProcessor(crop_size=32, size=32)


def _wan_parts(kind: str) -> dict:
    """The components of a Wan pipeline: ``t2v``, ``i2v`` (first frame) or ``flf2v`` (first+last)."""
    from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, WanTransformer3DModel

    tokenizer = word_tokenizer(["<pad>", "</s>"], pad="<pad>", eos="</s>")
    torch.manual_seed(0)
    vae = AutoencoderKLWan(
        base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1, temperal_downsample=[False, True, True]
    )
    torch.manual_seed(0)
    text_encoder = UMT5EncoderModel(
        UMT5Config(
            vocab_size=len(tokenizer),
            d_model=32,
            d_kv=8,
            d_ff=37,
            num_layers=1,
            num_heads=4,
            relative_attention_num_buckets=8,
            pad_token_id=0,
            eos_token_id=1,
            decoder_start_token_id=0,
        )
    )
    image = kind != "t2v"
    torch.manual_seed(0)
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=12,
        in_channels=36 if image else 16,
        out_channels=16,
        text_dim=32,
        freq_dim=256,
        ffn_dim=32,
        num_layers=1,
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32,
        image_dim=4 if image else None,
        added_kv_proj_dim=2 * 12 if image else None,
        pos_embed_seq_len=2 * 17 if kind == "flf2v" else None,
    )
    parts = dict(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
    )
    if image:
        torch.manual_seed(0)
        parts["image_encoder"] = CLIPVisionModelWithProjection(
            CLIPVisionConfig(
                hidden_size=4,
                projection_dim=4,
                num_hidden_layers=2,
                num_attention_heads=2,
                image_size=32,
                intermediate_size=16,
                patch_size=8,
            )
        )
        parts["image_processor"] = CLIPImageProcessor(crop_size=32, size=32)
    for part in parts.values():
        if isinstance(part, torch.nn.Module):
            part.eval()
    return parts


def tiny_wan(kind: str):
    """A tiny ``WanPipeline`` (``t2v``) or ``WanImageToVideoPipeline`` (``i2v``, ``flf2v``)."""
    from diffusers import WanImageToVideoPipeline, WanPipeline

    if kind == "t2v":
        return WanPipeline(**_wan_parts(kind))
    return WanImageToVideoPipeline(**_wan_parts(kind))


TINY = ModelRef("tiny/random", "0" * 40)
#: The tiny clip: 32x32, at most 9 frames per call at 8 frames/s (a keyframe gap of 1 s).
TINY_CLIP = ClipConfig(native_fps=8.0, max_frames_per_call=9, max_area=32 * 32)
#: As served: guidance on (negative prompt and unconditional pass), the shift; two steps.
TINY_SCHEDULE = StepSchedule(name="default", num_inference_steps=2, guidance_scale=5.0, flow_shift=3.0)


def tiny_config(
    adapters_dir: str = "/nonexistent",
    default_adapter_id: str | None = None,
    schedule: StepSchedule = TINY_SCHEDULE,
    device: str = "cpu",
    dtype: str = "float32",
) -> ModelEngineConfig:
    """Engine settings sized for the tiny models: 32x32, clips of at most 9 frames, two steps with
    guidance."""
    return ModelEngineConfig(
        encoder=EncoderConfig(mllm=TINY, embedder=TINY, frames_per_segment=4, max_new_tokens=8, analysis_fps=8.0),
        generator=GeneratorConfig(
            t2v=TINY,
            i2v=TINY,
            flf2v=TINY,
            clip=TINY_CLIP,
            schedule=schedule,
            adapters_dir=adapters_dir,
            default_adapter_id=default_adapter_id,
            max_sequence_length=16,
        ),
        device=device,
        dtype=dtype,
    )


def with_adapters(
    config: ModelEngineConfig, adapters_dir: str, default_adapter_id: str | None = None
) -> ModelEngineConfig:
    return replace(
        config,
        generator=replace(config.generator, adapters_dir=adapters_dir, default_adapter_id=default_adapter_id),
    )


def served_dtypes(pipe, dtype: torch.dtype, device: torch.device | str):
    """``pipe`` as served: transformer and text encoder in ``dtype``, VAE and image encoder in
    float32 (the Wan model cards' advice), on ``device``."""
    for name, part in pipe.components.items():
        if not isinstance(part, torch.nn.Module):
            continue
        if name in ("vae", "image_encoder") or dtype == torch.float32:
            part.to(device=device)
            continue
        part.to(device=device, dtype=dtype)
        keep = set(getattr(part, "_keep_in_fp32_modules", None) or ())  # as from_pretrained keeps them
        for sub_name, sub in part.named_modules():
            if keep & set(sub_name.split(".")):
                sub.to(torch.float32)
    return pipe


def tiny_pipes(dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu") -> dict:
    """T2V, I2V and FLF2V pipelines sharing one text encoder, VAE and image encoder, as
    ``Generator.from_pretrained`` builds them."""
    t2v, i2v, flf2v = tiny_wan("t2v"), tiny_wan("i2v"), tiny_wan("flf2v")
    shared = {name: getattr(i2v, name) for name in ("vae", "text_encoder", "tokenizer")}
    image = {name: getattr(i2v, name) for name in ("image_encoder", "image_processor")}
    for name, part in shared.items():
        t2v.register_modules(**{name: part})
        flf2v.register_modules(**{name: part})
    for name, part in image.items():
        flf2v.register_modules(**{name: part})
    return {name: served_dtypes(pipe, dtype, device) for name, pipe in (("t2v", t2v), ("i2v", i2v), ("flf2v", flf2v))}


def save_tiny_adapter(adapters_dir: str, adapter_id: str, rank: int = 4, alpha: int = 8, schedule: str = "default") -> None:
    """A random LoRA adapter for the tiny first/last-frame transformer, saved as training saves
    one (with its config, so ``alpha`` survives, and its record naming ``schedule``)."""
    import json

    from diffusers import WanImageToVideoPipeline
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    from .adapters import ADAPTER_RECORD, LORA_WEIGHTS

    pipe = tiny_wan("flf2v")
    config = LoraConfig(r=rank, lora_alpha=alpha, target_modules=["to_q", "to_k", "to_v"], init_lora_weights="gaussian")
    pipe.transformer.add_adapter(config)
    WanImageToVideoPipeline.save_lora_weights(
        f"{adapters_dir}/{adapter_id}",
        transformer_lora_layers=get_peft_model_state_dict(pipe.transformer),
        weight_name=LORA_WEIGHTS,
        transformer_lora_adapter_metadata=pipe.transformer.peft_config["default"].to_dict(),
    )
    (Path(adapters_dir) / adapter_id / ADAPTER_RECORD).write_text(json.dumps({"adapterId": adapter_id, "schedule": schedule}))


#: The tiny models as hub repositories (``save_tiny_hub``), by role: what ``CMVC_MODEL_<ROLE>``
#: names when a deployment is checked with them (``npm run gpu:container-check``).
TINY_HUB = {
    "mllm": ModelRef("tiny/qwen2.5-vl", "1" * 40),
    "embedder": ModelRef("tiny/clip-vit", "2" * 40),
    "t2v": ModelRef("tiny/wan2.1-t2v", "3" * 40),
    "i2v": ModelRef("tiny/wan2.1-i2v", "4" * 40),
    "flf2v": ModelRef("tiny/wan2.1-flf2v", "5" * 40),
}


def save_tiny_hub(hub_dir: str | Path) -> dict[str, str]:
    """Writes the tiny models as hub repositories under ``hub_dir/<id>/``, laid out as the pinned
    repositories are (diffusers pipelines with their subfolders; the MLLM's processor as
    ``preprocessor_config.json``, ``video_preprocessor_config.json``, tokenizer and chat template),
    and returns the ``CMVC_MODEL_<ROLE>`` variables naming them."""
    hub = Path(hub_dir)
    for role in ("t2v", "i2v", "flf2v"):
        tiny_wan(role).save_pretrained(hub / TINY_HUB[role].id)
    mllm, processor = tiny_qwen()
    folder = hub / TINY_HUB["mllm"].id
    mllm.save_pretrained(folder)
    for part in (processor.tokenizer, processor.image_processor, processor.video_processor):
        part.save_pretrained(folder)
    (folder / "chat_template.jinja").write_text(CHAT_TEMPLATE)
    embedder, embed_processor = tiny_clip()
    embedder.save_pretrained(hub / TINY_HUB["embedder"].id)
    embed_processor.save_pretrained(hub / TINY_HUB["embedder"].id)
    return {f"CMVC_MODEL_{role.upper()}": ref.pinned() for role, ref in TINY_HUB.items()}


#: The LoRA adapter a tiny engine bridges keyframes with (``tiny_engine``).
TINY_ADAPTER_ID = "interp-lora-tiny-r4"


def tiny_engine(adapters_dir: str, adapter_id: str = TINY_ADAPTER_ID):
    """The model engine with every model class loaded, tiny and random: the production classes and
    code paths on CUDA (bf16 transformers and text encoder, float32 VAE and image encoder, as served)
    when present, else on the CPU in float32. A random adapter ``adapter_id`` (alpha != rank) is saved
    in ``adapters_dir`` and bridges keyframes by default. For ``npm run gpu:smoke`` and the local GPU
    server's ``CMVC_ENGINE=model``; never a deployment (Modal serves the pinned models)."""
    from .encoder import Encoder
    from .engine import ModelEngine
    from .generator import Generator

    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    dtype = torch.bfloat16 if cuda else torch.float32
    config = tiny_config(adapters_dir, default_adapter_id=adapter_id, device=device, dtype="bfloat16" if cuda else "float32")
    save_tiny_adapter(adapters_dir, adapter_id, rank=4, alpha=8)
    mllm, processor = tiny_qwen()
    embedder, embed_processor = tiny_clip()
    encoder = Encoder(mllm.to(device, dtype), processor, embedder.to(device, dtype), embed_processor, config.encoder, device)
    generator = Generator(tiny_pipes(dtype, device), config.generator, device)
    return ModelEngine(config, encoder=encoder, generator=generator)
