"""The library on disk: the store, its schema, one writer per analysis."""
