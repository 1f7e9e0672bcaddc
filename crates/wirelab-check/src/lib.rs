//! wirelab-check
