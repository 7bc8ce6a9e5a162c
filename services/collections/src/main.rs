//! `otc-collections`: see the crate documentation.

fn main() -> std::process::ExitCode {
    otc_shared::runtime::run_main(otc_collections::SERVICE, otc_collections::install)
}
