//! Trimeter: a gain-staging plugin (input trim, output makeup, standards-exact meters).

pub mod dsp;
pub mod staging;
