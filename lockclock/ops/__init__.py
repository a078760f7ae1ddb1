"""The operators surface: the read model behind `status` and `history`."""
