//! What a `/version` endpoint serves, shared by the framework integrations: the body in the
//! chosen shape, cached per second, and the headers that go with it.

use std::sync::RwLock;

use serde_json::json;

use crate::{Stamp, Timestamp};

/// The shape of a version document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Shape {
    /// The `shipstamp/v1` document, with live process facts.
    #[default]
    Shipstamp,
    /// Kubernetes' `version.Info` style:
    /// `{"major","minor","gitVersion","gitCommit","gitTreeState","buildDate","compiler","platform"}`.
    Kubernetes,
    /// Dockerflow's `version.json`: `{"source","version","commit","build"}`.
    Dockerflow,
}

impl Stamp {
    /// The document in `shape`, compact. [`Shape::Shipstamp`] is [`Stamp::to_json`].
    pub fn to_json_shape(&self, shape: Shape) -> String {
        match shape {
            Shape::Shipstamp => self.to_json(),
            Shape::Kubernetes => {
                let mut numbers = self.package.version.split(['.', '-', '+']);
                let tree_state = self.git.dirty.map(|d| if d { "dirty" } else { "clean" });
                json!({
                    "major": numbers.next(),
                    "minor": numbers.next(),
                    "gitVersion": self.git.describe.clone().unwrap_or_else(|| format!("v{}", self.package.version)),
                    "gitCommit": self.git.commit,
                    "gitTreeState": tree_state,
                    "buildDate": self.build.time,
                    "compiler": "rustc",
                    "rustcVersion": self.build.rustc,
                    "platform": self.build.target,
                })
                .to_string()
            }
            Shape::Dockerflow => json!({
                "source": self.package.repository,
                "version": self.package.version,
                "commit": self.git.commit,
                "build": null,
            })
            .to_string(),
        }
    }

    /// A weak `ETag` naming the commit (`W/"<commit>"`, `W/"<commit>-dirty"` for a dirty build),
    /// or `None` when the commit is unknown. Weak, because the body's uptime changes every second.
    pub fn etag(&self) -> Option<String> {
        let commit = self.git.commit.as_deref()?;
        let dirty = if self.git.dirty == Some(true) {
            "-dirty"
        } else {
            ""
        };
        Some(format!("W/\"{commit}{dirty}\""))
    }
}

/// The body of a version endpoint for one stamp and shape, built once and rebuilt at most
/// once a second (when the uptime in it changes); every other request clones the cached body.
///
/// `B` is the framework's body bytes type (`bytes::Bytes` for axum and actix-web): cloning
/// it must be cheap.
///
/// ```
/// # let stamp: &'static shipstamp::Stamp = Box::leak(Box::new(shipstamp::Stamp::from_json(
/// #     r#"{"schema":"shipstamp/v1","package":{"name":"a","version":"1.0.0"}}"#).unwrap()));
/// let endpoint = shipstamp::VersionEndpoint::<Vec<u8>>::new(stamp, shipstamp::Shape::Kubernetes);
/// assert!(endpoint.body().starts_with(b"{"));
/// assert_eq!(shipstamp::VersionEndpoint::<Vec<u8>>::CONTENT_TYPE, "application/json");
/// ```
#[derive(Debug)]
pub struct VersionEndpoint<B> {
    stamp: &'static Stamp,
    shape: Shape,
    etag: Option<String>,
    /// The second the body was built in, and the body.
    cache: RwLock<(i64, B)>,
}

impl<B: Clone + From<Vec<u8>>> VersionEndpoint<B> {
    /// `Content-Type` of the body.
    pub const CONTENT_TYPE: &'static str = "application/json";
    /// `Cache-Control` for the response: CDNs and proxies that cached version endpoints kept
    /// showing old commits after deploys.
    pub const CACHE_CONTROL: &'static str = "no-store";

    /// Prepares the endpoint; the body is serialized here once.
    pub fn new(stamp: &'static Stamp, shape: Shape) -> Self {
        let now = Timestamp::now().unix_seconds();
        VersionEndpoint {
            stamp,
            shape,
            etag: stamp.etag(),
            cache: RwLock::new((now, B::from(Self::render(stamp, shape)))),
        }
    }

    fn render(stamp: &Stamp, shape: Shape) -> Vec<u8> {
        match shape {
            Shape::Shipstamp => {
                let mut buf = Vec::with_capacity(640);
                stamp.write_json(&mut buf);
                buf
            }
            other => stamp.to_json_shape(other).into_bytes(),
        }
    }

    /// The body as of now.
    pub fn body(&self) -> B {
        // Only the shipstamp shape carries values that change (uptime, exe_replaced).
        if self.shape != Shape::Shipstamp {
            return self.read().1.clone();
        }
        let now = Timestamp::now().unix_seconds();
        {
            let cached = self.read();
            if cached.0 == now {
                return cached.1.clone();
            }
        }
        let mut cached = self
            .cache
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if cached.0 != now {
            *cached = (now, B::from(Self::render(self.stamp, self.shape)));
        }
        cached.1.clone()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, (i64, B)> {
        // A panic while rebuilding leaves a complete old body behind; serving it is fine.
        self.cache
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The `ETag` value, see [`Stamp::etag`].
    pub fn etag(&self) -> Option<&str> {
        self.etag.as_deref()
    }

    /// The stamp served.
    pub fn stamp(&self) -> &'static Stamp {
        self.stamp
    }
}
