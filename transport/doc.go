// Package transport is the second layer of izaber-wamp: it moves protocol
// messages over a connection and knows nothing of their meaning.
//
// A Peer is one end of a connection: Send (safe for concurrent use), Recv
// (one reader), Close, and the Serializer that was negotiated.
//
// # Clients
//
// Dial connects from a URL:
//
//	ws://host:port/path, wss://...    WebSocket (github.com/coder/websocket)
//	tcp://host:port, tcps://...       RawSocket over TCP, or TLS
//	tcpip://, tcpips://               the same, under the Python library's names
//	unix:///path/to/socket            RawSocket over a Unix socket
//
// DialOptions has working zero-value defaults: serializers offered CBOR,
// MsgPack, JSON; TLS verification on (CAFile, client certificates,
// ServerName, and an explicit InsecureSkipVerify); 16 MiB message limit;
// WebSocket keep-alive pings every 30s with a 10s pong timeout.
//
// # Servers
//
// WebSocketHandler is an http.Handler that upgrades WebSocket connections
// (choosing the first of the client's offered wamp.2.* subprotocols it
// supports, 400 when none). ListenRawSocket and NewRawSocketListener accept
// RawSocket connections over TCP, TLS or Unix sockets, each handshake on its
// own goroutine with a timeout. Both yield Peers. Pipe makes a connected
// in-memory pair for tests and for embedding a router in the same process.
//
// # Protocol details
//
// WebSocket: JSON travels in text messages, MsgPack and CBOR in binary
// ones; a message of the other kind fails the connection (close status
// 1003). RawSocket: the 4-octet handshake in both directions including the
// error replies, 4-octet frame headers, PING answered with PONG. Sending
// RawSocket PINGs is opt-in (DialOptions.RawSocketPing) because crossbar
// cannot parse them and drops the connection. When a RawSocket server
// refuses a serializer, or drops the connection as crossbar does, Dial
// retries with the next serializer.
//
// # Limits, keep-alive and errors
//
// MaxMessageSize applies both ways. An oversized Send fails with a
// *MessageTooBigError before anything is written and the connection stays
// open; an oversized incoming message closes the connection and Recv returns
// a *MessageTooBigError. For RawSocket the sending limit is also the
// peer's announced one.
//
// Keep-alive pings detect a half-open connection (the peer vanished
// without a FIN): when no pong and no other data arrives within PongTimeout
// while the reader was free to read it, or when a pending send keeps the
// ping from being written and no byte moves either way for PongTimeout, the
// connection is closed and Recv returns the reason. Data arriving, bytes
// still draining on a slow link, or a reader waiting for Recv to take a
// message all count as alive, so a busy connection is never mistaken for a
// dead one.
//
// Every error that ends a connection matches ErrClosed with errors.Is and
// keeps its cause (errors.As for *MessageTooBigError, *RawSocketError). A
// message that arrives intact but does not decode is returned by Recv as an
// error matching protocol.ErrInvalidMessage, and the connection stays open:
// the session layer decides what to do.
//
// # Contexts
//
// The context of Dial bounds connecting and the handshakes only. A context
// passed to Recv bounds the wait for a message; ending it never closes the
// connection. A context passed to Send bounds the wait for the writer (the
// connection stays open) and the write itself: if it ends mid-write, the
// connection is closed, since a half-written frame cannot be taken back.
// Pass a long-lived context to the read loop.
//
// # Ownership
//
// Each network peer has one read-loop goroutine that owns all socket reads
// and hands messages to Recv through a small queue (back-pressure beyond
// it), a one-slot writer semaphore that serializes writes (Send, PONGs,
// pings), and optionally one keep-alive goroutine. Close waits for these
// goroutines, so a closed peer leaves nothing running.
package transport
