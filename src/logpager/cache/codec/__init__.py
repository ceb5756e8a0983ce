"""The chunk format: how result rows are encoded, laid out, compressed and decoded."""
