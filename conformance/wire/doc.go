// Package wire talks to a WAMP router at the byte level, for the
// conformance scenarios (package scenario) and the router doubles that prove
// them (package fault).
//
// A Conn is one WebSocket or RawSocket connection, client side (Dial) or
// server side (Listener.Accept, WebSocketHandler). It sends whatever it is
// given: a message composed with package protocol (Send), a generic list
// that may be no valid WAMP message at all (SendList: unknown codes, wrong
// types, IDs out of range), or raw bytes in a frame (SendPayload, SendFrame:
// undecodable JSON, a text frame where binary is due, a RawSocket PING). The
// handshakes can be bent the same way: any four octets as the RawSocket
// request, any list of WebSocket subprotocols.
//
// Received frames queue up until Recv takes them, each decoded with the
// negotiated serializer when it decodes (Frame.Msg) or kept with the
// decode error (Frame.Err), so a scenario sees exactly what the router sent.
// An Observer sees every frame both ways and every handshake and close,
// which is what scenario transcripts are made of.
//
// This package has its own RawSocket framing and uses
// github.com/coder/websocket directly instead of package transport: a tool
// that checks routers built on transport must not share its bugs, and it
// must be able to send what transport refuses to send.
//
// Ownership: each Conn has one reader goroutine that owns all reads from
// the socket and appends to the receive queue (guarded by Conn.mu); writes
// are serialized by Conn.wmu. Close waits for the reader.
package wire
