// Migrations are embedded with `embed_migrations!`, which does not notice new files by itself.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
