use actix_web::{HttpResponse, get, web};

use crate::state::AppState;

/// Prometheus text format; live gauges (replicas, key ages, breakers, registry) are read at scrape time.
/// Gzipped when the scraper accepts it (Prometheus does): two series per tenant are about 140 bytes
/// of text, a twentieth of that compressed.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
#[get("/metrics", wrap = "actix_web::middleware::Compress::default()")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let live = state.exchanger.live_state();
    state.metrics.set_live(live.replicas, &live.key_ages, &live.breakers);
    state.metrics.set_registry_down_for(state.registry.down_since().map(|since| since.elapsed()));
    HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(state.metrics.render())
}
