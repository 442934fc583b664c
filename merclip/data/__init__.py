"""Dataset loaders, the generated dataset, media writers and the feature cache."""
