//! IAM adapter.
