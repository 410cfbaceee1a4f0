#![doc = include_str!("../../README.md")]
//!
//! ---
//!
//! This crate (unpublished) holds shipstamp's end-to-end tests and their helpers: real
//! temporary git repositories ([`TempRepo`]), fixture service crates built with real cargo
//! ([`Fixture`]), service processes on loopback ([`Service`]), a minimal HTTP client
//! ([`request`]), a misbehaving-on-demand HTTP server ([`StubServer`]), a gateway that hides
//! part of a server's API ([`Gateway`]) and headless Chromium ([`Browser`]).

// The README shows a whole `build.rs`, so its example has `fn main` on purpose.
#![allow(clippy::needless_doctest_main)]

mod axum_server;
mod big_fleet;
mod browser;
mod fixture;
mod gateway;
mod git_shim;
mod group;
mod http;
mod podman;
mod prometheus;
mod repo;
mod service;
mod stub;
mod webhook;

pub use axum_server::serve_axum;
pub use big_fleet::BigFleet;
pub use browser::{Browser, Page};
pub use fixture::{BUILD_INPUT_VARS, Build, Fixture};
pub use gateway::Gateway;
pub use git_shim::GitShim;
pub use group::Group;
pub use http::{HttpResponse, request, request_with};
pub use podman::Podman;
pub use prometheus::{PrometheusServer, percent_encode};
pub use repo::{TempRepo, git};
pub use service::{Service, spawn_fresh_binary, workspace_binary};
pub use stub::{Reply, StubServer};
pub use webhook::WebhookReceiver;

// Every other README's Rust examples compile too.
#[cfg(doctest)]
#[doc = include_str!("../../crates/shipstamp-build/README.md")]
mod build_readme {}
#[cfg(doctest)]
#[doc = include_str!("../../integrations/shipstamp-axum/README.md")]
mod axum_readme {}
#[cfg(doctest)]
#[doc = include_str!("../../integrations/shipstamp-actix/README.md")]
mod actix_readme {}
#[cfg(doctest)]
#[doc = include_str!("../../integrations/prometheus/README.md")]
mod prometheus_readme {}
