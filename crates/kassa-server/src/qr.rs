//! QR images of payment links, as SVG or PNG.

use axum::extract::{FromRequestParts, Query};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use qrcode::render::svg;
use qrcode::{Color, EcLevel, QrCode};
use serde::Deserialize;
use utoipa::IntoParams;

/// Blank modules around the code, as the QR standard asks.
const QUIET_ZONE: usize = 4;
/// Pixels per module in PNGs.
const SCALE: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Svg,
    Png,
}

impl Format {
    pub const fn content_type(self) -> &'static str {
        match self {
            Self::Svg => "image/svg+xml",
            Self::Png => "image/png",
        }
    }

    /// `?format=png|svg` wins; otherwise an `Accept` that asks for PNG and not SVG gets PNG.
    pub fn negotiate(format: Option<&str>, accept: Option<&str>) -> Option<Self> {
        match format.map(str::to_ascii_lowercase).as_deref() {
            Some("png") => return Some(Self::Png),
            Some("svg") => return Some(Self::Svg),
            Some(_) => return None,
            None => {}
        }
        let accept = accept.unwrap_or("").to_ascii_lowercase();
        let wants_png = accept.contains("image/png");
        Some(if wants_png && !accept.contains("image/svg+xml") { Self::Png } else { Self::Svg })
    }
}

pub fn render(text: &str, format: Format) -> Result<Vec<u8>, String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).map_err(|e| e.to_string())?;
    match format {
        Format::Svg => Ok(code
            .render::<svg::Color<'_>>()
            .min_dimensions(256, 256)
            .quiet_zone(true)
            .dark_color(svg::Color("#000000"))
            .light_color(svg::Color("#ffffff"))
            .build()
            .into_bytes()),
        Format::Png => png(&code),
    }
}

fn png(code: &QrCode) -> Result<Vec<u8>, String> {
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET_ZONE) * SCALE;
    let mut pixels = vec![255u8; side * side];
    for (i, color) in colors.iter().enumerate() {
        if *color == Color::Dark {
            let (mx, my) = (i % modules + QUIET_ZONE, i / modules + QUIET_ZONE);
            for y in my * SCALE..(my + 1) * SCALE {
                pixels[y * side + mx * SCALE..y * side + (mx + 1) * SCALE].fill(0);
            }
        }
    }
    let mut out = Vec::new();
    let mut encoder = ::png::Encoder::new(&mut out, side as u32, side as u32);
    encoder.set_color(::png::ColorType::Grayscale);
    encoder.set_depth(::png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(&pixels).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation() {
        assert_eq!(Format::negotiate(None, None), Some(Format::Svg));
        assert_eq!(Format::negotiate(None, Some("image/png")), Some(Format::Png));
        assert_eq!(Format::negotiate(None, Some("image/svg+xml, image/png")), Some(Format::Svg));
        assert_eq!(Format::negotiate(Some("PNG"), Some("image/svg+xml")), Some(Format::Png));
        assert_eq!(Format::negotiate(Some("gif"), None), None);
    }

    #[test]
    fn png_is_a_png_of_the_right_size() {
        let bytes = render("https://example.com/hpp/payments/1", Format::Png).unwrap();
        let decoder = ::png::Decoder::new(std::io::Cursor::new(bytes));
        let reader = decoder.read_info().unwrap();
        let info = reader.info();
        assert_eq!(info.width, info.height);
        assert_eq!(info.width as usize % SCALE, 0);
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QrQuery {
    /// `svg` (default) or `png`; without it, `Accept: image/png` selects PNG.
    #[param(pattern = "^([sS][vV][gG]|[pP][nN][gG])$")]
    format: Option<String>,
}

/// Why no image was made.
#[derive(Debug, thiserror::Error)]
pub enum QrError {
    #[error("format must be svg or png")]
    UnknownFormat,
    #[error("{0}")]
    Render(String),
}

/// Handlers take `Result<Asked, QrError>` and answer the error in their surface's own way; this is
/// only the fallback.
impl IntoResponse for QrError {
    fn into_response(self) -> Response {
        (axum::http::StatusCode::BAD_REQUEST, self.to_string()).into_response()
    }
}

/// The image format a request asks for: `?format=`, else its `Accept` header.
pub struct Asked(Format);

impl<S: Send + Sync> FromRequestParts<S> for Asked {
    type Rejection = QrError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, QrError> {
        let Query(query) =
            Query::<QrQuery>::from_request_parts(parts, state).await.map_err(|_| QrError::UnknownFormat)?;
        let accept = parts.headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
        Format::negotiate(query.format.as_deref(), accept).map(Self).ok_or(QrError::UnknownFormat)
    }
}

/// A QR image of `link` in the asked format (the API's and the pages' QR images).
pub async fn qr_image(link: String, asked: Result<Asked, QrError>) -> Result<Response, QrError> {
    let Asked(format) = asked?;
    let image = tokio::task::spawn_blocking(move || render(&link, format))
        .await
        .map_err(|e| QrError::Render(e.to_string()))?
        .map_err(QrError::Render)?;
    let headers = [(header::CONTENT_TYPE, format.content_type()), (header::CACHE_CONTROL, "public, max-age=300")];
    Ok((headers, image).into_response())
}
