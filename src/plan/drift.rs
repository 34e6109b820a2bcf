//! Drift reports.
