//! Cutting a client's connection mid-request, for the `reset` fault.
//!
//! actix-web offers no way to drop a connection from a handler, so every accepted socket gets a
//! duplicate handle (a second descriptor for the same socket) stored in the connection's data.
//! Shutting that down ends the TCP connection for real: the client sees the connection close
//! before any response byte, a transport error rather than an HTTP status.

use std::{any::Any, net::Shutdown};

use actix_web::{HttpRequest, dev::Extensions};

/// A second handle to the socket of one accepted connection.
pub(crate) struct ConnectionHandle(std::net::TcpStream);

/// The `HttpServer::on_connect` hook: remembers a handle to every plain TCP connection.
pub(crate) fn remember(connection: &dyn Any, data: &mut Extensions) {
    let Some(stream) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() else {
        return;
    };
    match duplicate(stream) {
        Ok(handle) => {
            data.insert(ConnectionHandle(handle));
        }
        Err(error) => tracing::warn!(%error, "cannot keep a handle to a connection; resets will be partial"),
    }
}

/// Shuts the request's connection down in both directions. Returns `false` when there is no
/// handle, in which case the caller has to fall back to a broken response body.
pub(crate) fn cut(req: &HttpRequest) -> bool {
    match req.conn_data::<ConnectionHandle>() {
        Some(ConnectionHandle(stream)) => {
            if let Err(error) = stream.shutdown(Shutdown::Both) {
                tracing::debug!(%error, "connection already gone");
            }
            true
        }
        None => false,
    }
}

#[cfg(unix)]
fn duplicate(stream: &actix_web::rt::net::TcpStream) -> std::io::Result<std::net::TcpStream> {
    use std::os::fd::AsFd as _;
    Ok(std::net::TcpStream::from(stream.as_fd().try_clone_to_owned()?))
}

#[cfg(windows)]
fn duplicate(stream: &actix_web::rt::net::TcpStream) -> std::io::Result<std::net::TcpStream> {
    use std::os::windows::io::AsSocket as _;
    Ok(std::net::TcpStream::from(stream.as_socket().try_clone_to_owned()?))
}

#[cfg(not(any(unix, windows)))]
fn duplicate(_: &actix_web::rt::net::TcpStream) -> std::io::Result<std::net::TcpStream> {
    Err(std::io::Error::new(std::io::ErrorKind::Unsupported, "no socket duplication on this platform"))
}
