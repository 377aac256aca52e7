//! The server over raw HTTP: semantics the product relies on, checked request by request.

use crate::support::TestServer;

#[test]
fn version_reports_1_32() {
    let server = TestServer::builder().start();
    let v = server.http().get("/version").unwrap().json();
    assert_eq!(v["gitVersion"], "v1.32.4");
    assert_eq!(v["minor"], "32");
}
