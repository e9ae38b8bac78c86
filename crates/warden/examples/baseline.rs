//! The ceiling for HTTP benchmarks: a bare actix-web handler returning a
//! user-sized JSON document, with the same worker count as `warden server`.
//! Used by `cargo xtask bench http`; not part of the server.

use actix_web::{App, HttpResponse, HttpServer, get};

const BODY: &str = r#"{"id":"9433c611-2d8a-46ab-aea9-9133c4dd0c2c","username":"admin","name":"","avatar_url":"","email":"admin@example.com","created_at":"2026-11-22T12:10:23.786416Z","updated_at":"2026-11-22T12:10:23.786416Z","last_seen_at":"2026-11-22T12:10:23.786416Z","status":"active","login_type":"password","is_service_account":false,"has_ai_seat":false,"theme_preference":"","organization_ids":["2341dced-9eb9-4ba2-a9fd-b171fcbd121c"],"roles":[{"name":"owner","display_name":"Owner"}]}"#;

#[get("/api/v2/users/me")]
async fn me() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(BODY)
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3001".to_owned());
    HttpServer::new(|| App::new().service(me))
        .bind(address)?
        .run()
        .await
}
