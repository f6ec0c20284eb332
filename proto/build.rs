//! Compiles `kerndesk/**/v1/*.proto` with protox (no system `protoc`) and
//! writes the encoded descriptor set next to the generated code, for
//! server reflection.

use std::{env, fs, path::PathBuf};

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);

    let mut protos = Vec::new();
    collect_protos(&root.join("kerndesk"), &mut protos)?;
    protos.sort();
    for proto in &protos {
        println!("cargo:rerun-if-changed={}", proto.display());
    }

    let fds = protox::compile(&protos, [&root])?;
    fs::write(out_dir.join("kerndesk_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}

fn collect_protos(dir: &PathBuf, into: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_protos(&path, into)?;
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            into.push(path);
        }
    }
    Ok(())
}
