"""Files the tools write and read back, at the lowest layer: weights files and their digests."""
