//! The endpoint benchmark serves this package's own stamp.
fn main() {
    shipstamp_build::stamp();
}
