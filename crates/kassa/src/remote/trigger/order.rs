//! The Order Management scenario: an order captured, then refunded in part.

use super::{Run, hpp, spelled};
use kassa_client::Error;
use kassa_client::orders::{CaptureRequest, RefundRequest};
use kassa_client::sandbox::ConsumerAction;

pub async fn captured_and_refunded(run: &mut Run) -> Result<(), Error> {
    let id = hpp::create(run, "NONE").await?;
    hpp::consumer(run, &id, ConsumerAction::Open).await?;
    let token = hpp::consumer(run, &id, ConsumerAction::Approve).await?;
    let order_id = hpp::place_order(run, token).await?;
    let client = run.client.clone();
    let orders = client.orders();
    let order = orders.read(&order_id).await?;
    let capture = CaptureRequest {
        captured_amount: order.order_amount,
        description: Some("Shipped".into()),
        reference: Some("parcel-1".into()),
        ..CaptureRequest::default()
    };
    let captured = orders.capture(&order_id, &capture).await?;
    let order = orders.read(&order_id).await?;
    run.step(
        format!("captured {} (capture {})", order.captured_amount, captured.id),
        "order",
        &order_id,
        spelled(order.status),
    );
    let refund = RefundRequest {
        refunded_amount: order.captured_amount / 2,
        description: Some("Returned in part".into()),
        reference: Some("return-1".into()),
        ..RefundRequest::default()
    };
    let refunded = orders.refund(&order_id, &refund).await?;
    let order = orders.read(&order_id).await?;
    run.step(
        format!("refunded {} (refund {})", order.refunded_amount, refunded.id),
        "order",
        &order_id,
        spelled(order.status),
    );
    Ok(())
}
