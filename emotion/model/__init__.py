"""The CLAP model: loading, batched features, the int8 CPU path, the shared batcher."""
