//! Compiles every `.proto` under `otc/` with protox (pure Rust, no system
//! `protoc`) and writes a descriptor set for gRPC reflection.

use std::path::{Path, PathBuf};

use prost::Message;

fn proto_files(dir: &Path, found: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            proto_files(&path, found)?;
        } else if path
            .extension()
            .is_some_and(|extension| extension == "proto")
        {
            found.push(path);
        }
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let mut files = Vec::new();
    proto_files(&manifest_dir.join("otc"), &mut files)?;
    files.sort();
    println!("cargo:rerun-if-changed=otc");
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }

    let descriptor_set = protox::compile(&files, [&manifest_dir])?;
    std::fs::write(
        out_dir.join("otc_descriptor.bin"),
        descriptor_set.encode_to_vec(),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptor_set)?;
    Ok(())
}
