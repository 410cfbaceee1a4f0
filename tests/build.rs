//! The crate's own stamp; its README examples are doctests that need one.
fn main() {
    shipstamp_build::stamp();
}
