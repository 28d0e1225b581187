"""Every prompt the model engine sends to a model, in one place.

CMVC (arXiv 2408.08093) describes each scene twice: once for its *spatial content* (what is in the
picture) and once for its *motion* (how it moves). The decoder then regenerates the scene from
``content + motion`` (TT2V) or from the keyframe plus ``motion`` (IT2V). So the two descriptions
must not overlap: the content text says nothing about movement, the motion text nothing about
appearance beyond naming what moves. Both are written as prompts a text-to-video model reads well:
plain present-tense sentences, concrete nouns, no lists or markdown.

How the encoder uses them (see ``encoder.Encoder.describe``):

1. ``frames_per_segment`` frames are sampled uniformly from the segment (``sampling.sample_indices``).
2. One chat is built per text with :func:`describe_messages`: the system prompt, then the user
   turn with the video and :data:`CONTENT_INSTRUCTION` or :data:`MOTION_INSTRUCTION`, each told
   the character budget (the request's ``maxTextChars``).
3. The answer is decoded greedily and cleaned by ``sampling.clean_text`` (whitespace collapsed,
   markdown stripped, cut at a sentence or word boundary within the budget).

How the generator and interpolator use them: :func:`tt2v_prompt`, :func:`it2v_prompt`,
:data:`NEGATIVE_PROMPT` and :data:`INTERPOLATION_PROMPT`.
"""

from __future__ import annotations

from typing import Literal

from ...modes import per_mode

DescriptionKind = Literal["content", "motion"]

SYSTEM_PROMPT = (
    "You are the analysis stage of a video codec. You watch a short video scene and write a "
    "description from which a text-to-video model will recreate it. Write plain present-tense "
    "sentences. No lists, headings, markdown, quotes or commentary."
)

CONTENT_INSTRUCTION = (
    "Describe the spatial content of this scene as a single still picture: the main subjects and "
    "their appearance, the setting and background, the colours, the lighting, the camera framing "
    "and the visual style. Do not describe any movement. At most {max_chars} characters."
)

MOTION_INSTRUCTION = (
    "Describe only the motion in this scene: how the camera moves (static, pan, tilt, zoom, "
    "tracking) with direction and speed, and how each subject moves, in the order it happens. "
    "Name what moves, but do not describe its appearance. At most {max_chars} characters."
)

INSTRUCTIONS: dict[str, str] = {"content": CONTENT_INSTRUCTION, "motion": MOTION_INSTRUCTION}

NEGATIVE_PROMPT = (
    "blurry, low quality, distorted, deformed, flickering, jittery, overexposed, static frame, "
    "watermark, subtitles, text, extra limbs, bad anatomy"
)

INTERPOLATION_PROMPT = (
    "Smooth, natural, continuous motion between the first and the last frame, consistent lighting "
    "and appearance, no new objects."
)


def describe_messages(kind: DescriptionKind, max_chars: int) -> list[dict]:
    """The chat for one description, in the transformers chat-template format.

    Args:
        kind: ``"content"`` or ``"motion"``.
        max_chars: the character budget told to the model (the request's ``maxTextChars``).

    Returns:
        ``[system, user]`` messages; the user turn holds one ``{"type": "video"}`` placeholder
        that the processor expands into the video's tokens, then the instruction.
    """
    if kind not in INSTRUCTIONS:
        raise ValueError(f"kind must be 'content' or 'motion', got {kind!r}")
    if max_chars < 1:
        raise ValueError(f"max_chars must be positive, got {max_chars}")
    return [
        {"role": "system", "content": [{"type": "text", "text": SYSTEM_PROMPT}]},
        {
            "role": "user",
            "content": [
                {"type": "video"},
                {"type": "text", "text": INSTRUCTIONS[kind].format(max_chars=max_chars)},
            ],
        },
    ]


def tt2v_prompt(content_text: str, motion_text: str) -> str:
    """The text-to-video prompt: the content, then the motion (CMVC's TT2V mode)."""
    return f"{content_text.strip()} {motion_text.strip()}".strip()


def it2v_prompt(content_text: str, motion_text: str) -> str:
    """The image-to-video prompt: the keyframe carries the content, so the motion leads.

    The content text follows as context, so subjects the motion text names stay recognisable
    (CMVC's IT2V mode conditions on the keyframe and the motion description).
    """
    return f"{motion_text.strip()} {content_text.strip()}".strip()


#: The generation prompt each mode writes from a segment's content and motion texts.
PROMPTS = per_mode("engines/model prompts", {"tt2v": tt2v_prompt, "it2v": it2v_prompt})
