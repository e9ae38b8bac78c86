//! The server processes serving this deployment.

use actix_web::{get, web};

use crate::AppState;
use crate::auth::Authenticated;
use crate::dto::Replica;
use crate::error::{ApiResult, Response};

/// The replicas alive now (reported within the last 15 s), oldest first. Owners only;
/// anyone else gets 404, as in Coder.
#[utoipa::path(get, path = "/api/v2/replicas", tag = "Enterprise",
    responses((status = 200, body = Vec<Replica>), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[get("/replicas")]
pub async fn replicas(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
) -> ApiResult<web::Json<Vec<Replica>>> {
    let replicas = state.services.replicas(&actor).await?;
    Ok(web::Json(replicas.into_iter().map(Into::into).collect()))
}
