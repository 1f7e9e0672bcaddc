//! wirelab-net
