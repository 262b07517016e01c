"""HTTP routes: thin views that load, call one service, and render or redirect."""
