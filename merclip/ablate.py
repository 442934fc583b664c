"""`python -m merclip.ablate`: The paper's ablation grids (Tables 3, 4, 7-11). The command lives in `merclip.training.ablate`."""
from .training.ablate import main

if __name__ == "__main__":
    main()
