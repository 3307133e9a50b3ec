//! The API layer. [`rest`] is a thin axum transport; every operation is one
//! function in [`service`], which parses request models, validates them and
//! calls storage, so that all transports validate alike.

pub mod auth;
pub mod grpc;
pub mod rest;
pub mod service;
