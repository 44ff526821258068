"""The int8 CPU path of the audio tower: quantized linear layers and fused window attention.

Measured on a 2-core AVX2 CPU with the full-size htsat-fused (bench/bench_embed.py): the
linear layers are ~45 % of a forward pass and the window attention's separate matmul,
scale, bias, mask and softmax passes another ~20 %. Three changes, applied to the audio
tower only (the text tower stays fp32, so prompt embeddings are the same in every
precision):

* every ``nn.Linear`` becomes a dynamically quantized int8 one (int8 weights, activations
  quantized per batch row block by fbgemm/oneDNN); alone 1.6–1.8× the fp32 embed speed;
* query, key and value become one linear layer (one activation quantization, one GEMM);
* the window attention runs through ``scaled_dot_product_attention`` with the relative
  position bias and the shift mask added into one mask (2–3× the attention alone).

Cosine to the fp32 embedding ≥ 0.999 on the full-size model and on the test checkpoint.
torch's eager dynamic quantization (``torch.ao.quantization``) is used because it ships
with the pinned torch and needs no compiler; torchao is its successor and can replace it
behind ``quantize_audio_tower`` without changing callers.
"""

from __future__ import annotations

import warnings

import torch
from transformers import ClapModel
from transformers.models.clap import modeling_clap

# fbgemm's int8 GEMMs need AVX2 at least; on ARM (Apple silicon, qnnpack) the speed-up
# was not measured, so the int8 path stays off there.
FAST_CPU_CAPABILITIES = ("AVX2", "AVX512")


def int8_supported() -> bool:
    """Whether this CPU runs the int8 path faster than fp32 (x86 with AVX2 or better)."""
    engines = torch.backends.quantized.supported_engines
    if not any(e in engines for e in ("x86", "fbgemm")):
        return False
    return torch.backends.cpu.get_cpu_capability() in FAST_CPU_CAPABILITIES


def quantize_audio_tower(model: ClapModel) -> None:
    """Turn ``model``'s audio tower and projection into the int8 path, in place (CPU only)."""
    for module in model.audio_model.modules():
        if isinstance(module, modeling_clap.ClapAudioAttention):
            module.self = FusedWindowAttention(module.self)  # type: ignore[assignment]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notice
        for name in ("audio_model", "audio_projection"):
            torch.ao.quantization.quantize_dynamic(
                getattr(model, name), {torch.nn.Linear}, dtype=torch.qint8, inplace=True
            )


class FusedWindowAttention(torch.nn.Module):
    """``ClapAudioSelfAttention`` with one qkv layer, the position bias precomputed, and
    ``scaled_dot_product_attention`` in place of the eager maths (same results to 1e-5)."""

    def __init__(self, eager: modeling_clap.ClapAudioSelfAttention):
        super().__init__()
        self.heads = int(eager.num_attention_heads)
        size = int(eager.all_head_size)
        height, width = tuple(eager.window_size)
        tokens = int(height * width)
        table = eager.relative_position_bias_table.detach()
        bias = table[eager.relative_position_index.view(-1)].view(tokens, tokens, -1)
        self.register_buffer("position_bias", bias.permute(2, 0, 1).contiguous())
        self.qkv = torch.nn.Linear(size, 3 * size)
        parts: list[torch.nn.Linear] = [eager.query, eager.key, eager.value]
        with torch.no_grad():
            self.qkv.weight.copy_(torch.cat([p.weight.detach() for p in parts]))
            zero = torch.zeros(size)
            self.qkv.bias.copy_(torch.cat([zero if p.bias is None else p.bias for p in parts]))

    def forward(
        self,
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        output_attentions: bool | None = False,
    ) -> tuple[torch.Tensor]:
        windows, tokens, channels = hidden_states.shape
        qkv = self.qkv(hidden_states).view(windows, tokens, 3, self.heads, -1)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        bias = torch.as_tensor(self.position_bias).to(q.dtype)
        if attention_mask is None:
            mask = bias[None].expand(windows, -1, -1, -1)
        else:
            # The shift mask repeats every mask.shape[0] windows (transformers' layout).
            per_image = attention_mask.shape[0]
            mask = (bias[None] + attention_mask[:, None].to(q.dtype)).repeat(
                windows // per_image, 1, 1, 1
            )
        context = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return (context.transpose(1, 2).reshape(windows, tokens, channels),)
