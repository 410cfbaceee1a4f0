//! The library behind the `shipstamp` command line tool.
//!
//! Reading the stamp that `shipstamp::stamp!()` embeds in a binary, without running it:
//!
//! ```no_run
//! let stamps = shipstamp_check::read_stamps_from_file("target/release/orders-api".as_ref())?;
//! for stamp in stamps {
//!     println!("{} {} {:?}", stamp.package.name, stamp.package.version, stamp.git.commit);
//! }
//! # Ok::<(), shipstamp_check::InspectError>(())
//! ```
//!
//! And from a running process, with the binary now on disk at its path for comparison
//! ([`inspect_process`], Linux).

mod inspect;

pub use inspect::{
    InspectError, ProcessInspection, inspect_process, read_stamps, read_stamps_from_file,
};
