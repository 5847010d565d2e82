//! Unit tests of the perf.data reader.
