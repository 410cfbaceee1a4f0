#![doc = include_str!("../../README.md")]
//!
//! ---
//!
//! This crate (unpublished) holds shipstamp's end-to-end tests and their helpers: real
//! temporary git repositories ([`TempRepo`]) and fixture service crates built with real cargo
//! ([`Fixture`]).

// The README shows a whole `build.rs`, so its example has `fn main` on purpose.
#![allow(clippy::needless_doctest_main)]

mod fixture;
mod repo;

pub use fixture::{Build, Fixture};
pub use repo::{TempRepo, git};
