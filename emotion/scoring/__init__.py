"""From vectors to moments: prompts, the window grid, highlights, picks, packs."""
