"""Secret stores: one protocol, several implementations, one contract test suite."""
