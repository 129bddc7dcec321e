//! Test harness for a real control plane
