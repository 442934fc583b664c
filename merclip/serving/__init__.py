"""Inference for people: the predictors (one clip, a batch, a long clip's timeline), their figures and the
projections the Studio shows."""
