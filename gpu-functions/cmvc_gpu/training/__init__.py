"""LoRA training of the interpolation model (``lora``), its data (``data``) and the Modal entry
point's driver (``run``)."""
