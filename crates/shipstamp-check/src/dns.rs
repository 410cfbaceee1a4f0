//! Every address a name resolves to, as its own instance: the source behind `--each-address` and
//! a fleet file's `dns` (a headless Kubernetes Service, Consul, `docker compose --scale`).

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use crate::probe::{At, Instance};
use crate::reason::{Reason, ReasonKind};
use crate::report::Observation;
use crate::source::{Context, Source, SourceError};
use crate::target::{Locator, Target};

/// Resolves a host and port to the addresses of its instances, in place of the system's
/// resolver: for a fixed list (`curl --resolve`), a service registry, or a test.
///
/// ```
/// use std::net::SocketAddr;
/// let resolver = shipstamp_check::Resolver::new(|host: &str, port: u16| {
///     Ok(vec![SocketAddr::from(([127, 0, 0, 1], port)), SocketAddr::from(([127, 0, 0, 2], port))])
/// });
/// let options = shipstamp_check::Options::default().resolver(resolver);
/// ```
#[derive(Clone)]
pub struct Resolver(Arc<ResolveFn>);

type ResolveFn = dyn Fn(&str, u16) -> std::io::Result<Vec<SocketAddr>> + Send + Sync;

impl Resolver {
    /// A resolver that calls `resolve(host, port)`.
    pub fn new(
        resolve: impl Fn(&str, u16) -> std::io::Result<Vec<SocketAddr>> + Send + Sync + 'static,
    ) -> Resolver {
        Resolver(Arc::new(resolve))
    }

    /// The addresses of `host` on `port`.
    pub fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        (self.0)(host, port)
    }
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Resolver(..)")
    }
}

/// Targets whose host is resolved every round, each of its addresses (A and AAAA) checked as its
/// own instance, named `host@address` (or `name@address`), with the `Host` header and the TLS
/// server name kept.
///
/// ```
/// let source = shipstamp_check::EachAddress(vec!["http://orders.internal:8080/version".parse()?]);
/// # Ok::<(), shipstamp_check::TargetError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EachAddress(pub Vec<Target>);

impl Source for EachAddress {
    fn observe(&self, context: &Context<'_>) -> Result<Vec<Observation>, SourceError> {
        let resolver = context.options().resolver.as_ref();
        let instances: Vec<Instance<'_>> =
            self.0.iter().flat_map(|t| expand(t, resolver)).collect();
        Ok(context.observe_instances(&instances))
    }
}

/// One instance per address `target`'s host resolves to now, named `host@address`; one that says
/// why when it resolves to none.
fn expand<'a>(target: &'a Target, resolver: Option<&Resolver>) -> Vec<Instance<'a>> {
    let failed = |message: String| {
        vec![Instance {
            at: At::Unresolved(Reason::new(ReasonKind::NotResolved, message)),
            ..Instance::of(target)
        }]
    };
    let Locator::Url(url) = &target.locator else {
        return vec![Instance::of(target)];
    };
    let Some((host, port)) = host_and_port(url) else {
        return failed("no host to resolve in this URL".into());
    };
    let resolved = match resolver {
        Some(resolver) => resolver.resolve(&host, port),
        None => (host.as_str(), port)
            .to_socket_addrs()
            .map(|addresses| addresses.collect()),
    };
    let mut addresses: Vec<SocketAddr> = match resolved {
        Ok(addresses) => addresses,
        Err(e) => return failed(format!("{host} does not resolve: {e}")),
    };
    addresses.sort();
    addresses.dedup();
    if addresses.is_empty() {
        return failed(format!("{host} resolves to no address"));
    }
    let base = target.name.clone().unwrap_or_else(|| host.clone());
    addresses
        .into_iter()
        .map(|address| Instance {
            target,
            name: Some(format!("{base}@{}", address.ip())),
            at: At::Address(address),
        })
        .collect()
}

/// The host (without brackets) and port of an `http(s)://` URL.
fn host_and_port(url: &str) -> Option<(String, u16)> {
    let uri: ureq::http::Uri = url.parse().ok()?;
    crate::fetch::host_and_port(&uri)
}
