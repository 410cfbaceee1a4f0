//! The stamp embedded in the binary: one record per `stamp!()` call site, in a dedicated,
//! allocated link section, so tools read it without running the binary and the running
//! process reads it too (which also keeps the linker from discarding it).
//!
//! Record layout (`docs/embedded-format.md`): 8-byte magic `SHPSTAMP`, format version (u8),
//! flags (u8, zero), payload length (u16 little-endian), payload: the `shipstamp/v1` document
//! without `process`, compact UTF-8 JSON. Records may be separated by zero padding.

use std::sync::OnceLock;

use crate::Stamp;
use crate::error::{Error, Repr};

/// The section's name in ELF files (Linux, the BSDs, illumos).
pub const SECTION_ELF: &str = ".shipstamp";
/// The section's segment and name in Mach-O files (macOS, iOS).
pub const SECTION_MACH_O: (&str, &str) = ("__DATA", "__shipstamp");
/// The section's name in PE files (Windows; image section names have at most 8 bytes).
pub const SECTION_PE: &str = ".shpstmp";

const MAGIC: [u8; 8] = *b"SHPSTAMP";
const FORMAT_VERSION: u8 = 1;
const HEADER_LEN: usize = 12;

/// Every stamp in the contents of a shipstamp link section, in order, without duplicates
/// (each `stamp!()` call site embeds its own copy).
///
/// ```
/// let section = b"\0\0"; // only padding
/// assert!(shipstamp::stamps_in_section(section).unwrap().is_empty());
/// ```
pub fn stamps_in_section(section: &[u8]) -> Result<Vec<Stamp>, Error> {
    let mut stamps: Vec<Stamp> = Vec::new();
    let mut at = 0;
    while at < section.len() {
        if section[at] == 0 {
            at += 1;
            continue;
        }
        let bad = |why: String| Error::new(Repr::Section(format!("at byte {at}: {why}")));
        let header = section
            .get(at..at + HEADER_LEN)
            .ok_or_else(|| bad("truncated record header".into()))?;
        if header[..8] != MAGIC {
            return Err(bad("no shipstamp magic".into()));
        }
        if header[8] != FORMAT_VERSION {
            return Err(bad(format!(
                "record format version {} is not supported (this reader knows {FORMAT_VERSION})",
                header[8]
            )));
        }
        let len = usize::from(u16::from_le_bytes([header[10], header[11]]));
        let payload = section
            .get(at + HEADER_LEN..at + HEADER_LEN + len)
            .ok_or_else(|| bad(format!("payload of {len} bytes runs past the section")))?;
        let stamp = Stamp::from_slice(payload)?;
        if !stamps.contains(&stamp) {
            stamps.push(stamp);
        }
        at += HEADER_LEN + len;
    }
    Ok(stamps)
}

/// Used by `stamp!()`; not public API.
#[doc(hidden)]
pub mod __private {
    use super::*;

    pub use crate::vergen::{VergenVars, utf8, vergen_json, vergen_json_len};

    pub const fn record_len(json: &str) -> usize {
        HEADER_LEN + json.len()
    }

    pub const fn record<const N: usize>(json: &str) -> [u8; N] {
        let json = json.as_bytes();
        assert!(
            json.len() <= u16::MAX as usize,
            "shipstamp: stamp too large"
        );
        assert!(
            N == HEADER_LEN + json.len(),
            "shipstamp: record length mismatch"
        );
        let mut out = [0u8; N];
        let mut i = 0;
        while i < MAGIC.len() {
            out[i] = MAGIC[i];
            i += 1;
        }
        out[8] = FORMAT_VERSION;
        let len = (json.len() as u16).to_le_bytes();
        out[10] = len[0];
        out[11] = len[1];
        let mut j = 0;
        while j < json.len() {
            out[HEADER_LEN + j] = json[j];
            j += 1;
        }
        out
    }

    /// The stamp of one `stamp!()` call site, parsed from its record on first use.
    #[derive(Debug)]
    pub struct EmbeddedStamp {
        record: &'static [u8],
        package: &'static str,
        version: &'static str,
        stamp: OnceLock<Stamp>,
    }

    impl EmbeddedStamp {
        pub const fn new(
            record: &'static [u8],
            package: &'static str,
            version: &'static str,
        ) -> Self {
            EmbeddedStamp {
                record,
                package,
                version,
                stamp: OnceLock::new(),
            }
        }

        pub fn get(&'static self) -> &'static Stamp {
            self.stamp.get_or_init(|| {
                // Read the record through `black_box`, so the section is referenced at run time
                // and no optimizer or linker can drop it.
                let record = std::hint::black_box(self.record);
                record
                    .get(HEADER_LEN..)
                    .and_then(|payload| Stamp::live(payload).ok())
                    // Only a shipstamp-build older than the schema could write a record this
                    // crate cannot read; the package is still known.
                    .unwrap_or_else(|| Stamp::unknown_live(self.package, self.version))
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::__private::*;
    use super::*;

    const JSON: &str = r#"{"schema":"shipstamp/v1","package":{"name":"a","version":"1.0.0"},"git":{"commit":null}}"#;

    #[test]
    fn records_round_trip_and_deduplicate() {
        const LEN: usize = record_len(JSON);
        let rec: [u8; LEN] = record(JSON);
        assert_eq!(&rec[..8], b"SHPSTAMP");
        let mut section = rec.to_vec();
        section.extend_from_slice(&[0, 0, 0]);
        section.extend_from_slice(&rec);
        let stamps = stamps_in_section(&section).unwrap();
        assert_eq!(stamps.len(), 1);
        assert_eq!(stamps[0].package.name, "a");
    }

    #[test]
    fn corrupt_sections_are_errors_not_panics() {
        const LEN: usize = record_len(JSON);
        let rec: [u8; LEN] = record(JSON);
        for (what, bytes) in [
            ("truncated header", rec[..5].to_vec()),
            ("truncated payload", rec[..LEN - 1].to_vec()),
            ("bad magic", [b"XHPSTAMP".as_slice(), &rec[8..]].concat()),
            ("future version", [&rec[..8], &[2], &rec[9..]].concat()),
            ("bad json", [&rec[..HEADER_LEN], b"{".as_slice()].concat()),
        ] {
            assert!(stamps_in_section(&bytes).is_err(), "{what}");
        }
    }
}
