"""Training, evaluation with the paper's metrics, the ablation grids and embedding export (the commands
`python -m merclip.train`, `.evaluate`, `.ablate`, `.export` are thin entries into these modules)."""
