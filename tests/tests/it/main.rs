//! shipstamp end to end: real git repositories, real cargo builds of a fixture service, the
//! real binaries it produces.

mod embedded;
mod fallbacks;
mod freshness;
