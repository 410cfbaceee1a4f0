//! The formats shipstamp writes and reads, each with one writer, and no dependencies:
//!
//! - the `shipstamp/v1` document ([`Document`]), written by one `const fn`: by `shipstamp-build`
//!   in a build script, by `stamp_from_vergen!()` at compile time and by the runtime;
//! - RFC 3339 times ([`format_rfc3339`], [`parse_rfc3339`]), also `const`;
//! - URLs made safe to stamp ([`stampable_url`], no credentials, query or fragment) or to show
//!   ([`shown_url`], a query as `?…` and a fragment as `#…`);
//! - the names of the Prometheus `build_info` series ([`BUILD_INFO_LABELS`]) and how a label
//!   value is written ([`push_label_value`]);
//! - when a Linux process started ([`process_started_at`]).
//!
//! ```
//! let mut doc = shipstamp_format::Document::new("orders-api", "1.4.2");
//! doc.package_repository = Some("https://ci:t0ken@github.com/acme/orders?ref=x");
//! doc.build_time = Some(1_795_341_600);
//! let json = doc.to_json();
//! assert!(json.contains(r#""repository":"https://github.com/acme/orders""#));
//! assert!(json.contains(r#""time":"2026-11-22T10:00:00Z""#));
//! ```
//!
//! You do not need this crate to use shipstamp; it exists so that each format has one owner
//! that `shipstamp-build` (which every user compiles, so it takes no dependencies) can share.
//!
//! # Supported Rust
//!
//! Rust 1.85 or later (edition 2024).

mod build_info;
mod document;
mod process;
mod time;
mod url;

pub use build_info::{
    BUILD_INFO_LABELS, BUILD_INFO_SUFFIX, LABEL_DIRTY, LABEL_PACKAGE, LABEL_REVISION,
    LABEL_VERSION, START_TIME_SUFFIX, push_label_value,
};
pub use document::{Document, SCHEMA, is_repository_relative};
pub use process::{process_started_at, start_ticks};
pub use time::{format_rfc3339, parse_rfc3339};
pub use url::{ShownUrl, UrlParts, shown_text, shown_url, stampable_url};
