"""Model configs: the open_clip tower configs (`*.json`, registered with open_clip by `merclip.pretrained.clip_towers`) and, beside
them, MER-CLIP's own presets (`presets.py`)."""
