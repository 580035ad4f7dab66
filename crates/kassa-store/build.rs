// The migrations are embedded at compile time (`sqlx::migrate!`), which stable Rust cannot make
// track their folder: without this a new or changed migration would not rebuild the crate.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
