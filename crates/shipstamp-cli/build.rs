//! The command carries its own stamp: `shipstamp_build_info` on the dashboard's `/metrics`.
fn main() {
    shipstamp_build::stamp();
}
