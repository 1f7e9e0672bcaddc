//! wirelab-sim
