//! Bakes the build stamp into the service.
fn main() {
    shipstamp_build::stamp();
}
