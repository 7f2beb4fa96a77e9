//! Standards tests (filled in below).
