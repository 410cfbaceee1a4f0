//! shipstamp end to end: real git repositories, real cargo builds of fixture services and of
//! the example services, real servers on loopback, the real binaries.

mod alerting;
mod check;
mod containers;
mod contains;
mod conventions;
mod dashboard;
mod dns;
mod documents;
mod drift;
mod embedded;
mod endpoints;
mod engine;
mod examples;
mod fallbacks;
mod fleet;
mod fleet_views;
mod freshness;
mod git_use;
mod inspect;
mod kubernetes;
mod metrics;
mod monorepo;
mod notify;
mod processes;
mod prometheus_source;
mod schema;
mod services;
mod util;
mod vergen;
