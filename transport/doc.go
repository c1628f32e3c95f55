// Package transport is the second layer of izaber-wamp: it moves protocol
// messages over a connection and knows nothing of their meaning.
//
// A Peer is one end of a connection: Send (safe for concurrent use), Recv
// (one reader), Close, and the Serializer that was negotiated. The network
// peers also implement NetPeer: keep-alive control, the pre-authentication
// size limit, and a non-blocking outbound queue with its backlog, for
// routers doing flow control.
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
// keep-alive pings after 30s of silence with a 10s timeout.
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
// Strangers get little: ServerOptions.PreAuthMaxMessageSize limits what a
// client may send before NetPeer.Authenticated (a RawSocket frame header
// announcing more is refused before anything is allocated for it, a
// WebSocket read stops at the limit), and ServerOptions.AddressLimit caps
// the connections from one IP address, open and not yet authenticated
// (RawSocket handshake error 4, "maximum connection count reached";
// WebSocket HTTP 503).
//
// # Protocol details
//
// WebSocket: JSON travels in text messages, MsgPack and CBOR in binary
// ones; a message of the other kind fails the connection (close status
// 1003). RawSocket: the 4-octet handshake in both directions including the
// error replies, 4-octet frame headers, PING answered with PONG. When a
// RawSocket server refuses a serializer, or drops the connection as crossbar
// does, Dial retries with the next serializer.
//
// # Limits, keep-alive and errors
//
// MaxMessageSize applies both ways. An oversized Send fails with a
// *MessageTooBigError before anything is queued and the connection stays
// open; an oversized incoming message closes the connection and Recv returns
// a *MessageTooBigError. For RawSocket the sending limit is also the
// peer's announced one.
//
// Keep-alive detects a half-open connection (the peer vanished without a
// FIN) within PingInterval + PongTimeout, with the same settings on every
// transport. A connection silent for PingInterval is pinged (a WebSocket
// ping frame, a RawSocket PING); it is declared dead, closed, and the reason
// returned by Recv when within PongTimeout no byte arrived although Recv was
// reading, or when the ping could not even be written and no byte moved in
// either direction. Data arriving, bytes still draining on a slow link, or
// nobody calling Recv (a reader busy elsewhere) all count as alive, so a busy
// connection is never mistaken for a dead one. Pings are answered, and
// answers received, by Recv: a connection must be read to stay alive. A
// peer that pings without reading gets no answer while the connection's
// outbox is full, rather than making it queue answers without bound.
// WebSocket clients and servers ping from the start; RawSocket PINGs start
// with DialOptions.RawSocketPing / ServerOptions.RawSocketPing or when the
// session layer calls NetPeer.StartPing, because crossbar cannot parse a
// RawSocket PING and drops the connection (the session layer probes crossbar
// with WAMP calls instead). Keep-alive runs on a runtime timer; it has no
// goroutine of its own.
//
// Every error that ends a connection matches ErrClosed with errors.Is and
// keeps its cause (errors.As for *MessageTooBigError, *RawSocketError). A
// message that arrives intact but does not decode is returned by Recv as an
// error matching protocol.ErrInvalidMessage, and the connection stays open:
// the session layer decides what to do. A message whose only fault is an
// invalid URI comes with that error (a *protocol.URIError), so that a router
// can answer it with wamp.error.invalid_uri.
//
// # Contexts
//
// The context of Dial bounds connecting and the handshakes only. The
// context of Send bounds the wait for room in the connection's outbox (a
// megabyte may wait to be written); when it ends Send returns its error and
// the connection stays open. It never reaches the write itself, which only
// the connection's own rules end (keep-alive, a broken socket). The context
// of Recv bounds the wait for a message and never closes the connection: a
// blocked read is interrupted by moving the socket's read deadline, and
// resumes with the next Recv: RawSocket and WebSocket frames resume where
// they stopped, even in the middle of a message. Passing the same
// long-lived context to every Recv costs nothing per call.
//
// # Ownership
//
// No goroutine reads a connection on its own: the goroutine in Recv (the
// session's or the router session's reader) reads the socket, decodes and
// returns, and answers pings on the way. Read buffers come from a pool while
// data flows, and are given back when a read finds nothing more waiting;
// an idle connection keeps a 256-byte one. On TCP and Unix sockets the
// reader reads through the raw connection (syscall.RawConn), which lets it
// take a big buffer once data is known to be waiting and give it back
// before it waits: a busy connection reads a burst with one system call
// (not 256 octets first and then the rest), an idle one waits holding no
// big buffer. A received message is decoded
// where it lies in the read buffer when the buffer holds it whole, else
// from a pooled buffer given back once it is decoded (the decoders keep
// nothing of their input).
//
// Writes go through the connection's outbox, the one owner of the socket's
// write side. Send and NetPeer.Enqueue encode the message on the caller's
// goroutine into a pooled buffer (protocol.AppendMarshal), copy it into the
// outbox next to its frame header (a big message, or a shared one, is
// queued by reference), and write at once if nobody else is writing: on TCP
// and Unix sockets with a writev that never waits for the socket, so no
// caller blocks on a slow peer. What the socket does not take at once is
// written by a writer goroutine started for the purpose, which exits when
// the queue is empty; TLS connections always write from that goroutine.
// Messages queued while a write is in progress go out together in the next
// one: writes coalesce, and NetPeer.Enqueue of a batch is one write.
// NetPeer.Queue and Flush are Send in two steps, for a sender that keeps
// its messages in order under a lock of its own (the session layer's
// request ids) and writes after releasing it.
//
// A reader that hands what it receives to other goroutines (the session
// layer: replies to waiting callers, invocations to workers) calls
// NetPeer.HoldWrites after each message: what anyone queues from then on
// waits until Recv next has to read from the socket (or has returned 64
// messages since the hold began, or the connection ends). Before writing it
// yields once (runtime.Gosched), so that the goroutines the reader woke run
// first and queue their answers: a burst of received messages is answered
// in one write instead of one per answer. The hold costs nothing when idle:
// a lone message is answered as soon as the reader is back in Recv, which
// it is the moment it has dispatched it.
//
// WebSocket: coder/websocket runs the opening handshake (on a net.Conn of
// ours on both sides: a custom dial whose response body we replace, and the
// hijacked connection of the server); after it the frames are ours (RFC
// 6455 5, in wsframe.go): a data message is one frame queued in the outbox
// (a server's payload by reference, a client's copied and masked with a
// key from crypto/rand), a received one is read from the socket's buffer
// (unmasked in place when it holds the frame whole), fragmented messages
// are assembled, pings answered, and a close frame answered with ours.
// Anything RFC 6455 forbids (reserved bits or opcodes, a frame masked the
// wrong way, a fragmented or oversized control frame, an invalid close
// status) ends the connection with close status 1002. We chose this over
// letting coder/websocket frame and unframe: its reader and writer take
// locks of their own, copy every message through their buffers and write
// each message with a system call of its own, and its per-connection state
// (about 2 KiB) is kept by every idle session; framing is the small and
// hot part of the protocol, the handshake stays with a library made for
// it.
//
// A *Shared message (Share) is encoded once per serializer whatever the
// number of peers it is sent to; RawSocket peers then write the same bytes.
//
// Close writes what is queued (at most a second, with the WebSocket close
// frame), closes the socket and waits for the writer goroutine.
package transport
