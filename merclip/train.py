"""`python -m merclip.train`: Train MER-CLIP (the paper's recipe) or LSGMER (this project's). The command lives in
`merclip.training.loop`."""
from .training.loop import main

if __name__ == "__main__":
    main()
