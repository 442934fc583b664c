"""The model families: MER-CLIP (`merclip.py`: encoders, label encoder, cross-modal decoder, losses) and LSGMER
(`lsgmer.py`), their shared parts, the family registry and the checkpoints that rebuild them."""
