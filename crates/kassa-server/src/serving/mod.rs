//! kassa's HTTP/1.1 connection loop (hyper under axum's router), with the limits that keep slow
//! or idle clients from holding the server: a deadline for each request's headers (counted from
//! when the connection starts waiting for a request, so it is also the keep-alive idle timeout),
//! a deadline for each request's body, a cap on held connections ([`connections`]), and a bound
//! on how long shutdown waits for requests in flight.

pub mod body;
pub mod connections;

use crate::app::config::ServerLimits;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use connections::{Admission, Connections, Held};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Serves `router` on `listener` until `shutdown` is cancelled; then stops accepting, lets each
/// connection finish the requests it is in (closing idle ones at once) and closes whatever is
/// still open after `limits.drain_deadline`.
pub async fn run(listener: TcpListener, router: Router, limits: ServerLimits, shutdown: CancellationToken) {
    let connections = Connections::new(limits.max_connections);
    let mut tasks = JoinSet::new();
    let mut refused_warned = false;
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    // Out of file descriptors or similar: back off instead of spinning.
                    tracing::warn!(%error, "accepting a connection failed; retrying in 50 ms");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        while tasks.try_join_next().is_some() {}
        match connections.admit() {
            (Admission::Held(held), _) => {
                refused_warned = false;
                let _ = stream.set_nodelay(true);
                tasks.spawn(connection(stream, peer, held, router.clone(), limits.clone(), shutdown.clone()));
            }
            (Admission::Refused, _) => {
                if !refused_warned {
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        "every held connection is in a request; refusing new connections until one ends"
                    );
                    refused_warned = true;
                }
                drop(stream);
            }
        }
    }
    drop(listener);
    let drained = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(limits.drain_deadline, drained).await.is_err() {
        tracing::warn!(
            open = connections.len(),
            deadline = ?limits.drain_deadline,
            "shutdown: closing the connections still open at the drain deadline"
        );
        tasks.shutdown().await;
    }
}

/// Serves one connection: every request gets the client's address and a body deadline, and
/// marks the connection as in a request until its response body is sent.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    held: Held,
    router: Router,
    limits: ServerLimits,
    shutdown: CancellationToken,
) {
    let slot = held.slot.clone();
    let body_timeout = limits.body_timeout;
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let mark = slot.in_request();
        let router = router.clone();
        async move {
            let mut request = request.map(|body| {
                if http_body::Body::is_end_stream(&body) {
                    Body::new(body)
                } else {
                    Body::new(body::Deadline::new(Body::new(body), body_timeout))
                }
            });
            request.extensions_mut().insert(ConnectInfo(peer));
            let response = router.oneshot(request).await.unwrap_or_else(|never: Infallible| match never {});
            // A body of known length is written at once; only a stream (SSE) keeps the
            // connection in its request while it is sent.
            if http_body::Body::size_hint(response.body()).exact().is_some() {
                return Ok::<_, Infallible>(response);
            }
            Ok(response.map(|inner| Body::new(body::Marked::new(inner, mark))))
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    let served = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(served);
    let closed = held.slot.closed().clone();
    tokio::select! {
        _ = served.as_mut() => return,
        () = closed.cancelled() => return,
        () = shutdown.cancelled() => served.as_mut().graceful_shutdown(),
    }
    tokio::select! {
        _ = served => {}
        () = closed.cancelled() => {}
    }
    drop(held);
}
