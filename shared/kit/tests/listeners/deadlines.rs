//! The connection cap, the long-poll cap, and the body and idle deadlines, with short limits.

use std::time::Duration;

use bangban_kit::serve::ListenerLimits;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::support::*;

fn limits() -> ListenerLimits {
    ListenerLimits {
        max_connections: 64,
        header_read_timeout: Duration::from_secs(1),
        body_read_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(3),
        ..ListenerLimits::ui()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_connection_cap_a_new_client_waits_until_a_slot_frees() {
    let server = PlainServer::spawn(
        ListenerLimits {
            max_connections: 2,
            header_read_timeout: Duration::from_secs(2),
            ..limits()
        },
        8,
    )
    .await;
    // Two silent connections take both slots.
    let mut a = TcpStream::connect(server.addr).await.unwrap();
    let mut b = TcpStream::connect(server.addr).await.unwrap();

    let request = tokio::spawn(
        http(Duration::from_secs(10))
            .get(server.url("/healthz"))
            .send(),
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !request.is_finished(),
        "a third connection was served while the cap of two was taken"
    );

    // The silent ones are closed by the header deadline; then the waiting client is served.
    assert!(closed_within(&mut a, Duration::from_secs(5)).await);
    assert!(closed_within(&mut b, Duration::from_secs(5)).await);
    let res = tokio::time::timeout(Duration::from_secs(5), request)
        .await
        .expect("served once a slot freed")
        .unwrap()
        .unwrap();
    assert_eq!(res.status(), 200);

    // A client that leaves frees its slot at once, too.
    let _c = TcpStream::connect(server.addr).await.unwrap();
    let d = TcpStream::connect(server.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(d);
    let res = http(Duration::from_secs(1))
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_polls_beyond_their_slots_get_503_problem() {
    let server = PlainServer::spawn(limits(), 2).await;
    let client = http(Duration::from_secs(10));
    let poll = |wait: u32| {
        client
            .get(server.url(&format!("/v1/events?after=0&wait={wait}")))
            .send()
    };
    let first = tokio::spawn(poll(20));
    let second = tokio::spawn(poll(20));
    while server.slots.in_use() < 2 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let refused = poll(20).await.unwrap();
    assert_eq!(refused.status(), 503);
    assert_eq!(
        refused.headers()["content-type"],
        bangban_kit::http::PROBLEM_JSON
    );
    assert_eq!(refused.headers()["retry-after"], "5");
    let problem: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(problem["code"], "server.long_polls_full");
    assert!(!problem["message_zh"].as_str().unwrap().is_empty());
    assert!(!problem["message_en"].as_str().unwrap().is_empty());

    // A pull that does not wait is no long poll: it is served.
    let res = poll(0).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "at once");

    // Once a long poll answers, its slot is free again.
    server.release.add_permits(1);
    let done = tokio::time::timeout(Duration::from_secs(5), async {
        tokio::select! {
            r = first => r,
            r = second => r,
        }
    })
    .await
    .unwrap()
    .unwrap()
    .unwrap();
    assert_eq!(done.status(), 200);
    while server.slots.in_use() > 1 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let third = tokio::spawn(poll(20));
    while server.slots.in_use() < 2 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.release.add_permits(2);
    assert_eq!(third.await.unwrap().unwrap().status(), 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_trickles_past_its_deadline_gets_408_problem() {
    let server = PlainServer::spawn(limits(), 8).await;
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    write
        .write_all(
            b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
              Content-Length: 40\r\n\r\n{\"a\":",
        )
        .await
        .unwrap();
    // A byte now and then: each arrives in time, the whole body does not.
    let trickling = async {
        loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if write.write_all(b" ").await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    };
    let started = std::time::Instant::now();
    let (status, head, body) = tokio::select! {
        () = trickling => unreachable!(),
        answer = read_response(&mut read) => answer,
    };
    assert_eq!(status, 408, "{head}\n{body}");
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "{head}"
    );
    let problem: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(problem["code"], "request.body_timeout");
    assert!(!problem["message_zh"].as_str().unwrap().is_empty());

    // A body sent at once is read as usual.
    let res = http(Duration::from_secs(5))
        .post(server.url("/echo"))
        .json(&serde_json::json!({"a": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_alive_connection_outlives_the_header_deadline_until_the_idle_timeout() {
    let server = PlainServer::spawn(limits(), 8).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let request = b"GET /peer HTTP/1.1\r\nHost: localhost\r\n\r\n";
    stream.write_all(request).await.unwrap();
    let (status, _, body) = read_response(&mut stream).await;
    // The handler saw the peer's address from the connection.
    assert_eq!((status, body.as_str()), (200, "127.0.0.1"));

    // Idle for longer than the header deadline (1 s) but less than the idle timeout (3 s).
    tokio::time::sleep(Duration::from_millis(1_800)).await;
    stream.write_all(request).await.unwrap();
    let (status, _, _) = read_response(&mut stream).await;
    assert_eq!(status, 200, "the kept-alive connection still serves");

    // Then silent: closed by the idle timeout.
    let started = std::time::Instant::now();
    assert!(closed_within(&mut stream, Duration::from_secs(6)).await);
    assert!(
        started.elapsed() >= Duration::from_millis(2_500),
        "closed after {:?}, before the idle timeout",
        started.elapsed()
    );

    // A request head that starts but stalls is closed by the header deadline.
    let mut stalled = TcpStream::connect(server.addr).await.unwrap();
    stalled.write_all(b"GET /peer HTTP/1.1\r\n").await.unwrap();
    assert!(closed_within(&mut stalled, Duration::from_secs(3)).await);
    server.stop().await;
}
