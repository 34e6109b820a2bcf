fn main() {
    std::process::exit(tenantctl::cli::main());
}
